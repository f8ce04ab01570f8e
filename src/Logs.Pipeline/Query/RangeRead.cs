using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// The part of a followed time range older than the replay buffer: one read from the source for that client, through
/// its filter, held until the client is served (so bounded like one replay buffer, in lines and in bytes: what is past
/// the bound is given up with a marker, and the client goes on with the buffer and its live lines).
/// </summary>
internal static class RangeRead
{
    public static async Task<List<LogEntry>> ReadAsync(ILogSource source, StreamKey key, LogTimestamp since, LogTimestamp until, LineFilter filter,
        QueryOptions options, PipelineOptions pipeline, TimeProvider time, Action keepAlive, CancellationToken cancellationToken)
    {
        var entries = new List<LogEntry>();
        var bytes = 0L;
        var read = 0L;
        await foreach (var record in source.ReadAsync(key, SourceStart.Range(since, until), cancellationToken).ConfigureAwait(false))
        {
            if (++read % 4096 == 0)
                keepAlive();
            if (record.Timestamp > until || !filter.Accepts(record, out _))
                continue;
            if (entries.Count >= options.RangeReadEntries || bytes > pipeline.ReplayBytes)
            {
                entries.Add(new LogEntry(key, 0, "", SourceRecord.IncompleteMarker(record.Timestamp,
                    $"The time range holds more lines before the server's buffer than one read keeps ({options.RangeReadEntries} lines); the newer ones are missing here.")));
                break;
            }
            var entry = new LogEntry(key, 0, "", record);
            bytes += entry.ApproximateSize;
            entries.Add(entry);
        }
        return entries;
    }
}
