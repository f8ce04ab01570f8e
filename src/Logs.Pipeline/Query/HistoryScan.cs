using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Finds the newest matching lines older than what a client already has, for a filtered <c>tail</c> the replay buffer
/// cannot fill: Docker's history is read backwards in windows that double in length (one read per window, see
/// <see cref="WindowRead"/>), newest first, until enough lines match, the log's first line is passed, or
/// <see cref="QueryOptions.ScanMaxWindows"/> / <see cref="QueryOptions.ScanMaxLines"/> / <see cref="QueryOptions.ReadMaxBytes"/>
/// stop it. The newest window ends at the history's drop watermark and hands over to the history through its
/// <see cref="HistorySeam"/>, so no line is lost or repeated there. Only the matching lines a window may still
/// contribute are held (at most the number asked for), with the source's gap markers among them.
/// The lines found are unsequenced and carry no cursor: a client resumes from a live line.
/// </summary>
internal static class HistoryScan
{
    private const int KeepAliveEvery = 4096;

    /// <param name="seam">Where the client's history begins (only older lines are wanted); null: it has none, up to now. With <see cref="HistorySeam.NoneOlder"/> nothing is read.</param>
    /// <param name="wanted">How many more matching lines are wanted.</param>
    /// <param name="alreadyFound">Matching lines the client has already (for the progress reports).</param>
    /// <param name="keepAlive">Called now and then while reading, so the client's live queue is not taken for stalled.</param>
    public static async Task<(List<LogEntry> Entries, ScanProgress Final)> ScanAsync(ILogSource source, StreamKey key, HistorySeam? seam, int wanted, int alreadyFound,
        LineFilter filter, QueryOptions options, PipelineOptions pipeline, TimeProvider time, Func<ScanProgress, ValueTask>? progress, Action keepAlive,
        CancellationToken cancellationToken)
    {
        var found = new List<LogEntry>();
        if (seam is { NoneOlder: true })
            return (found, new ScanProgress(LogTimestamp.FromDateTimeOffset(time.GetUtcNow()), alreadyFound, ScanState.Done));
        var top = seam?.Watermark ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow());
        var earliest = await EarliestAsync(source, key, seam?.Watermark, seam?.Partitions, options, cancellationToken).ConfigureAwait(false);
        if (earliest is not { } first)
            return (found, new ScanProgress(top, alreadyFound, ScanState.Done));

        var width = options.ScanInitialWindow;
        var read = 0L;
        var heldBytes = 0L;
        for (var window = 0; window < options.ScanMaxWindows; window++)
        {
            var since = Max(Subtract(top, width), first);
            // The newest window ends at the watermark, inclusive (the seam sorts out that instant); each older one
            // ends just before the next newer one begins (Docker's until is inclusive).
            LogTimestamp? until = window == 0 ? seam?.Watermark : new LogTimestamp(top.UnixNanoseconds - 1);
            var kept = new WindowLines(wanted - CountLines(found), options.ReadMaxBytes - heldBytes);
            // Every window hands over: a partition whose first history line is older than the newest window has lines
            // both sides of it in an older one.
            var handOver = seam?.Begin(since);
            await foreach (var record in WindowRead.ReadAsync(source, key, since, until, pipeline, options, seam?.Partitions, cancellationToken).ConfigureAwait(false))
            {
                if (++read > options.ScanMaxLines)
                {
                    // The window's newer lines are unread: what it gave so far would leave a hole, so it is dropped.
                    return (found, new ScanProgress(top, alreadyFound + found.Count, ScanState.Capped));
                }
                if (read % KeepAliveEvery == 0)
                    keepAlive();
                if (record.Timestamp < since)
                    continue;
                if (handOver is null || record.Incomplete is not null)
                    Keep(record);
                else
                    handOver.Offer(record, Keep);
            }
            handOver?.Finish();
            if (kept.Capped)
            {
                // Held for one client outside the pipeline's budget: bounded while reading. The newest lines found are kept whole.
                found.InsertRange(0, kept.Entries);
                return (found, new ScanProgress(top, alreadyFound + CountLines(found), ScanState.Capped));
            }
            heldBytes += kept.Bytes;
            found.InsertRange(0, kept.Entries);
            keepAlive();
            if (CountLines(found) >= wanted || since <= first)
                return (found, new ScanProgress(since, alreadyFound + CountLines(found), ScanState.Done));
            if (progress is not null)
                await progress(new ScanProgress(since, alreadyFound + CountLines(found), ScanState.Scanning)).ConfigureAwait(false);
            top = since;
            width *= 2;

            void Keep(SourceRecord record)
            {
                if (filter.Accepts(record, out _))
                    kept.Add(new LogEntry(key, 0, "", record));
            }
        }
        return (found, new ScanProgress(top, alreadyFound + CountLines(found), ScanState.Capped));
    }

    private static int CountLines(List<LogEntry> entries) => entries.Count(e => !e.IsIncompleteMarker);

    /// <summary>
    /// The oldest timestamp among the first lines the log gives (up to <paramref name="until"/>): where the scan may
    /// stop. A container's log comes in order, so its first line is exact. A service's replicas come interleaved, each in
    /// its own order, and one node's lines may come long after another's: the read goes on until every replica the
    /// client's history knows of (<paramref name="partitions"/>) has given its first line, or for at most
    /// <see cref="QueryOptions.WindowReadPastLines"/> lines (a replica whose lines are gone), and the oldest of those
    /// first lines stands for the log's. Null when there is no older line at all.
    /// </summary>
    private static async Task<LogTimestamp?> EarliestAsync(ILogSource source, StreamKey key, LogTimestamp? until, IEnumerable<ulong>? partitions,
        QueryOptions options, CancellationToken cancellationToken)
    {
        var partitionKey = source.TailPartitionKey;
        var waiting = partitionKey is null ? new HashSet<ulong>() : new HashSet<ulong>(partitions ?? []);
        LogTimestamp? earliest = null;
        var read = 0L;
        await foreach (var chunk in ChunkedRead.ReadAsync(token => source.ReadAsync(key, SourceStart.Range(null, until), token), cancellationToken).ConfigureAwait(false))
        {
            foreach (var record in chunk)
            {
                if (record.Incomplete is not null || (until is { } end && record.Timestamp > end))
                    continue;
                if (earliest is null || record.Timestamp < earliest)
                    earliest = record.Timestamp;
                if (waiting.Count > 0)
                    waiting.Remove(PositionTracker.PartitionOf(record, partitionKey));
            }
            read += chunk.Count;
            if (earliest is not null && (waiting.Count == 0 || read > options.WindowReadPastLines))
                return earliest;
        }
        return earliest;
    }

    private static LogTimestamp Subtract(LogTimestamp at, TimeSpan span)
    {
        var nanos = span.Ticks > long.MaxValue / 100 ? long.MaxValue : span.Ticks * 100;
        return new LogTimestamp(at.UnixNanoseconds > long.MinValue + nanos ? at.UnixNanoseconds - nanos : 0);
    }

    private static LogTimestamp Max(LogTimestamp a, LogTimestamp b) => a > b ? a : b;

    /// <summary>
    /// The matching lines of one window in the source's order, at most the newest <c>room</c> of them and at most
    /// <c>byteRoom</c> bytes (the scan's <see cref="QueryOptions.ReadMaxBytes"/> left): over it, the oldest go while the
    /// window is read, and <see cref="Capped"/> says so. The source's gap markers go among them (a marker older than
    /// every line kept is about lines not shown, and goes with them).
    /// </summary>
    internal sealed class WindowLines(int room, long byteRoom)
    {
        private readonly LinkedList<LogEntry> _entries = new();
        private int _lines;

        public long Bytes { get; private set; }

        /// <summary>True once lines were given up for the byte bound (not for the line count asked for).</summary>
        public bool Capped { get; private set; }

        public IEnumerable<LogEntry> Entries => _entries;

        public void Add(LogEntry entry)
        {
            _entries.AddLast(entry);
            Bytes += entry.ApproximateSize;
            if (!entry.IsIncompleteMarker)
                _lines++;
            while (_lines > room)
                RemoveOldest();
            while (_entries.Count > 0 && Bytes > byteRoom)
            {
                Capped = true;
                RemoveOldest();
            }
        }

        private void RemoveOldest()
        {
            var oldest = _entries.First!.Value;
            _entries.RemoveFirst();
            Bytes -= oldest.ApproximateSize;
            if (!oldest.IsIncompleteMarker)
                _lines--;
            // Markers before the oldest line kept are about lines that are not shown.
            while (_entries.First is { } next && next.Value.IsIncompleteMarker && _entries.Count > 1)
            {
                _entries.RemoveFirst();
                Bytes -= next.Value.ApproximateSize;
            }
        }
    }
}
