using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Finds the newest matching lines older than what a client already has, for a filtered <c>tail</c> the replay buffer
/// cannot fill: Docker's history is read backwards in windows that double in length (one read per window, through the
/// source's <see cref="SourceStart.Since"/>/<see cref="SourceStart.Until"/>), newest first, until enough lines match,
/// the log's first line is passed, or <see cref="QueryOptions.ScanMaxWindows"/> / <see cref="QueryOptions.ScanMaxLines"/>
/// stop it. Only the matching lines a window may still contribute are held (at most the number asked for).
/// The lines found are unsequenced and carry no cursor: a client resumes from a live line.
/// </summary>
internal static class HistoryScan
{
    private const int KeepAliveEvery = 4096;
    private static readonly LogTimestamp OneNanosecond = new(1);

    /// <param name="before">Only lines stamped before this (the oldest line the client has); null: up to now.</param>
    /// <param name="wanted">How many more matching lines are wanted.</param>
    /// <param name="alreadyFound">Matching lines the client has already (for the progress reports).</param>
    /// <param name="keepAlive">Called now and then while reading, so the client's live queue is not taken for stalled.</param>
    public static async Task<(List<LogEntry> Entries, ScanProgress Final)> ScanAsync(ILogSource source, StreamKey key, LogTimestamp? before, int wanted, int alreadyFound,
        LineFilter filter, QueryOptions options, TimeProvider time, Func<ScanProgress, ValueTask>? progress, Action keepAlive, CancellationToken cancellationToken)
    {
        var top = before ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow());
        var found = new List<LogEntry>();
        var earliest = await EarliestAsync(source, key, before, cancellationToken).ConfigureAwait(false);
        if (earliest is not { } first)
            return (found, new ScanProgress(top, alreadyFound, ScanState.Done));

        var width = options.ScanInitialWindow;
        var read = 0L;
        for (var window = 0; window < options.ScanMaxWindows; window++)
        {
            var since = Max(Subtract(top, width), first);
            // Docker's until is inclusive: the window ends just before the next newer one begins.
            var until = window == 0 && before is null ? (LogTimestamp?)null : new LogTimestamp(top.UnixNanoseconds - 1);
            var kept = new Queue<LogEntry>();
            var room = wanted - found.Count;
            await foreach (var record in source.ReadAsync(key, SourceStart.Range(since, until), cancellationToken).ConfigureAwait(false))
            {
                if (++read > options.ScanMaxLines)
                {
                    // The window's newer lines are unread: what it gave so far would leave a hole, so it is dropped.
                    return (found, new ScanProgress(top, alreadyFound + found.Count, ScanState.Capped));
                }
                if (read % KeepAliveEvery == 0)
                    keepAlive();
                if (record.Incomplete is not null || record.Timestamp < since || until is { } end && record.Timestamp > end)
                    continue;
                if (!filter.Accepts(record, out _))
                    continue;
                kept.Enqueue(new LogEntry(key, 0, "", record));
                if (kept.Count > room)
                    kept.Dequeue();
            }
            found.InsertRange(0, kept);
            keepAlive();
            if (found.Count >= wanted || since <= first)
                return (found, new ScanProgress(since, alreadyFound + found.Count, ScanState.Done));
            if (progress is not null)
                await progress(new ScanProgress(since, alreadyFound + found.Count, ScanState.Scanning)).ConfigureAwait(false);
            top = since;
            width *= 2;
        }
        return (found, new ScanProgress(top, alreadyFound + found.Count, ScanState.Capped));
    }

    /// <summary>
    /// The oldest timestamp among the first lines the log gives (before <paramref name="before"/>): where the scan may
    /// stop. A container's log comes in order, so its first line is exact; a service's replicas come interleaved, so
    /// the oldest of the first chunk stands for it. Null when there is no older line at all.
    /// </summary>
    private static async Task<LogTimestamp?> EarliestAsync(ILogSource source, StreamKey key, LogTimestamp? before, CancellationToken cancellationToken)
    {
        var until = before is { } b ? new LogTimestamp(b.UnixNanoseconds - OneNanosecond.UnixNanoseconds) : (LogTimestamp?)null;
        await foreach (var chunk in ChunkedRead.ReadAsync(token => source.ReadAsync(key, SourceStart.Range(null, until), token), cancellationToken).ConfigureAwait(false))
        {
            LogTimestamp? earliest = null;
            foreach (var record in chunk)
            {
                if (record.Incomplete is null && (until is not { } end || record.Timestamp <= end) && (earliest is null || record.Timestamp < earliest))
                    earliest = record.Timestamp;
            }
            if (earliest is not null)
                return earliest;
        }
        return null;
    }

    private static LogTimestamp Subtract(LogTimestamp at, TimeSpan span)
    {
        var nanos = span.Ticks > long.MaxValue / 100 ? long.MaxValue : span.Ticks * 100;
        return new LogTimestamp(at.UnixNanoseconds > long.MinValue + nanos ? at.UnixNanoseconds - nanos : 0);
    }

    private static LogTimestamp Max(LogTimestamp a, LogTimestamp b) => a > b ? a : b;
}
