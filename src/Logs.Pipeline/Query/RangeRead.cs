using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// The part of a followed time range older than the replay buffer: one read from the source for that client, through
/// its filter, up to the history's drop watermark and handed over through its <see cref="HistorySeam"/> (no line lost
/// or repeated where the buffer begins), held until the client is served. Bounded in lines
/// (<see cref="QueryOptions.RangeReadEntries"/>) and bytes (<see cref="QueryOptions.ReadMaxBytes"/>): what is past the
/// bound is given up with a marker, and the client goes on with the buffer and its live lines.
/// </summary>
internal static class RangeRead
{
    public static async Task<List<LogEntry>> ReadAsync(ILogSource source, StreamKey key, LogTimestamp since, HistorySeam seam, LineFilter filter,
        QueryOptions options, PipelineOptions pipeline, Action keepAlive, CancellationToken cancellationToken)
    {
        var entries = new List<LogEntry>();
        var bytes = 0L;
        var read = 0L;
        var full = false;
        var handOver = seam.Begin(since);
        await foreach (var record in WindowRead.ReadAsync(source, key, since, seam.Watermark, pipeline, options, seam.Partitions, cancellationToken).ConfigureAwait(false))
        {
            if (++read % 4096 == 0)
                keepAlive();
            if (record.Incomplete is not null)
                Keep(record);
            else
                handOver.Offer(record, Keep);
            if (full)
                break;
        }
        return entries;

        void Keep(SourceRecord record)
        {
            if (full || !filter.Accepts(record, out _))
                return;
            if (entries.Count >= options.RangeReadEntries || bytes > options.ReadMaxBytes)
            {
                entries.Add(new LogEntry(key, 0, "", SourceRecord.IncompleteMarker(record.Timestamp,
                    $"The time range holds more lines before the server's buffer than one read keeps ({options.RangeReadEntries} lines, {options.ReadMaxBytes} bytes); the newer ones are missing here.")));
                full = true;
                return;
            }
            var entry = new LogEntry(key, 0, "", record);
            bytes += entry.ApproximateSize;
            entries.Add(entry);
        }
    }
}
