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
    private static long s_reads;

    private CatchUp(StreamPosition from, LogEntry[] entries, StreamPosition position, bool truncated = false)
    {
        From = from;
        Entries = entries;
        Position = position;
        Truncated = truncated;
    }

    /// <summary>The position this read started after: its last lines are not in <see cref="Entries"/>.</summary>
    public StreamPosition From { get; }

    public LogEntry[] Entries { get; }

    public StreamPosition Position { get; }

    /// <summary>The read was cut at the byte bound: what it holds cannot stand for a later cursor's own read.</summary>
    public bool Truncated { get; }

    /// <summary>Catch-up reads asked of the sources by this process (each one a Docker read), for the admin listing.</summary>
    public static long Reads => Interlocked.Read(ref s_reads);

    /// <summary>
    /// Whether a catch-up read from <paramref name="earlier"/> holds everything a client at <paramref name="later"/>
    /// needs: in every partition <paramref name="later"/> names, its last line is at or after the earlier one's (and
    /// inside the read: after its floor); in every partition only <paramref name="earlier"/> names, the later
    /// position's floor has passed it. Then the later client's lines are a suffix of the earlier read.
    /// </summary>
    internal static bool Covers(StreamPosition earlier, StreamPosition later)
    {
        if (ReferenceEquals(earlier, later))
            return true;
        if (later.Floor < earlier.Floor)
            return false;
        foreach (var at in later.PartitionArray)
        {
            var found = false;
            foreach (var from in earlier.PartitionArray)
            {
                if (from.Partition != at.Partition)
                    continue;
                found = true;
                // Two lines of one instant: their order is Docker's, unknown here, unless they are the same line.
                if (from.LastTimestamp > at.LastTimestamp || (from.LastTimestamp == at.LastTimestamp && from.LastLine != at.LastLine))
                    return false;
            }
            if (!found && at.LastTimestamp <= earlier.Floor)
                return false;
        }
        foreach (var from in earlier.PartitionArray)
        {
            if (!later.PartitionArray.Any(at => at.Partition == from.Partition) && later.Floor < from.LastTimestamp)
                return false;
        }
        return true;
    }

    /// <summary>
    /// The part of this read a client at <paramref name="later"/> (<see cref="Covers"/>) needs: the lines after its
    /// position, and the read's markers that come after it. Its end is this read's end, so it attaches the same way.
    /// </summary>
    internal CatchUp After(StreamPosition later, StreamKey key, string epoch, string? partitionKey, PipelineOptions options, TimeProvider time)
    {
        // A partition where the later client stopped at the same line as the read's start is found already: the read
        // begins right after that line, so it is not in the entries to be met again (viewers of a herd often stop at one line).
        var filter = new CursorFilter<LogEntry>(later, partitionKey, options.SeamMargin, options.RepeatWindowEntries, alreadyFound: From.PartitionArray);
        var kept = new List<LogEntry>();
        var passed = new List<LogEntry?>();
        foreach (var entry in Entries)
        {
            if (filter.Settled)
            {
                kept.Add(entry);
                continue;
            }
            // A marker before the client's own line is about lines it has already seen.
            if (entry.IsIncompleteMarker)
                continue;
            passed.Clear();
            filter.Offer(entry, entry.Record, entry.Line, passed);
            Keep(passed);
        }
        passed.Clear();
        filter.Finish(passed);
        Keep(passed);
        return new CatchUp(From, [.. kept], Position, Truncated);

        void Keep(List<LogEntry?> items)
        {
            foreach (var item in items)
                kept.Add(item ?? new LogEntry(key, 0, epoch, SourceRecord.IncompleteMarker(LogTimestamp.FromDateTimeOffset(time.GetUtcNow()), LostMessage)));
        }
    }

    private const string LostMessage =
        "The last line this client saw is no longer in the log (rotated away, or more lines were written since than a resume reads); lines may be missing here.";

    /// <summary>
    /// Reads from <see cref="PipelineOptions.SeamMargin"/> before the position's oldest partition, at most
    /// <see cref="PipelineOptions.ResumeReadEntries"/> lines, and keeps exactly the lines after the position; a
    /// partition whose last line is not found again (rotated away, or more lines than the read takes) gives a gap.
    /// </summary>
    internal static async Task<CatchUp> ReadAsync(ILogSource source, StreamKey key, string epoch, StreamPosition from, PipelineOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref s_reads);
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
                return new CatchUp(from, [.. entries], tracker.Position, truncated: true);
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
        return new CatchUp(from, [.. entries], tracker.Position);

        void Add(SourceRecord? record)
        {
            if (record is null)
            {
                entries.Add(new LogEntry(key, 0, epoch, SourceRecord.IncompleteMarker(LogTimestamp.FromDateTimeOffset(time.GetUtcNow()), LostMessage)));
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
