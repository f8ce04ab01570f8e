using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The lines between a client's cursor and what a stream's replay buffer holds, read once from the source for that
/// client, and the position after them. Its entries are unsequenced (they are not part of the shared stream) but carry
/// cursors like every line.
/// </summary>
public sealed class CatchUp
{
    private CatchUp(LogEntry[] entries, StreamPosition position)
    {
        Entries = entries;
        Position = position;
    }

    public LogEntry[] Entries { get; }

    public StreamPosition Position { get; }

    /// <summary>
    /// Reads from <see cref="PipelineOptions.SeamMargin"/> before the position's oldest partition, at most
    /// <see cref="PipelineOptions.ResumeReadEntries"/> lines, and keeps exactly the lines after the position; a
    /// partition whose last line is not found again (rotated away, or more lines than the read takes) gives a gap.
    /// </summary>
    internal static async Task<CatchUp> ReadAsync(ILogSource source, StreamKey key, string epoch, StreamPosition from, PipelineOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var since = PositionTracker.ReadFrom(from, options.SeamMargin);
        var start = new SourceStart(options.ResumeReadEntries, since, Follow: false);
        var filter = new CursorFilter<SourceRecord>(from, source.TailPartitionKey, options.SeamMargin, options.RepeatWindowEntries, since);
        var tracker = new PositionTracker(source.TailPartitionKey, options.CursorPartitions, options.RepeatWindowEntries, from);
        tracker.RememberLastLines(from);
        var entries = new List<LogEntry>();
        var passed = new List<SourceRecord?>();
        var bytes = 0L;
        await foreach (var record in source.ReadAsync(key, start, cancellationToken).ConfigureAwait(false))
        {
            if (bytes > options.ReplayBytes)
            {
                // Held for one client before it is attached: bounded like one replay buffer. What is past the bound is
                // given up with a marker, and the client goes on from the shared stream's buffer.
                entries.Add(new LogEntry(key, 0, epoch, SourceRecord.IncompleteMarker(LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
                    "More lines were written since this client's cursor than a resume holds; lines may be missing here.")));
                return new CatchUp([.. entries], tracker.Position);
            }
            passed.Clear();
            if (record.Incomplete is not null || filter.Settled)
                passed.Add(record);
            else
                filter.Offer(record, record, LineIdentity.Of(record), passed);
            foreach (var item in passed)
                Add(item);
        }
        passed.Clear();
        filter.Finish(passed);
        foreach (var item in passed)
            Add(item);
        return new CatchUp([.. entries], tracker.Position);

        void Add(SourceRecord? record)
        {
            if (record is null)
            {
                entries.Add(new LogEntry(key, 0, epoch, SourceRecord.IncompleteMarker(LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
                    "The last line this client saw is no longer in the log (rotated away, or more lines were written since than a resume reads); lines may be missing here.")));
                return;
            }
            if (record.Incomplete is not null)
            {
                entries.Add(new LogEntry(key, 0, epoch, record));
                return;
            }
            var line = LineIdentity.Of(record);
            if (tracker.IsRepeat(line))
                return;
            var entry = new LogEntry(key, 0, epoch, record, line, tracker.Advance(record, line));
            bytes += entry.ApproximateSize;
            entries.Add(entry);
        }
    }
}
