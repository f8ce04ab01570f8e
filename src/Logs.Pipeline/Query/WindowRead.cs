using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// One read of the lines stamped in a time window, history only, that costs what the window holds. A container's log
/// API has <c>until</c>: Docker ends the read. A partitioned source (a service's tasks) has none: asked for one, it
/// drops the later lines but reads on to now, so a window far back would read the whole log since. Here the read
/// stops (and is cancelled) once its lines pass the window's end. Replicas' lines come interleaved and out of
/// timestamp order (a slower node's lines of the window can come after many of a faster node's later ones), so the end
/// is tracked per partition: the read stops once every partition it knows of (seen in the read, or named by the
/// caller, e.g. the partitions of the client's history) has given a line past the end. A partition that never does (a
/// task that stopped, a node that lags) keeps the read going for at most <see cref="QueryOptions.WindowReadPastLines"/>
/// lines past the end; then the read stops with a <c>source_incomplete</c> marker rather than quietly.
/// The source's own markers (a daemon error, stamped when it came: after the window) are passed on inside the window.
/// </summary>
internal static class WindowRead
{
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(ILogSource source, StreamKey key, LogTimestamp since, LogTimestamp? until, PipelineOptions options,
        QueryOptions queryOptions, IEnumerable<ulong>? knownPartitions, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partitionKey = source.TailPartitionKey;
        var partitioned = partitionKey is not null;
        var start = SourceStart.Range(since, partitioned ? null : until);
        // Partitions that have not yet given a line past the end, and those that have.
        var open = new HashSet<ulong>(knownPartitions ?? []);
        var passed = new HashSet<ulong>();
        var past = 0L;
        await foreach (var record in source.ReadAsync(key, start, cancellationToken).ConfigureAwait(false))
        {
            if (record.Incomplete is not null)
            {
                // Stamped with the time it came, not with the lines it is about: kept inside the window so the reader's
                // range checks keep it, and never taken for a line past the end.
                yield return until is { } last && record.Timestamp > last ? record with { Timestamp = last } : record;
                continue;
            }
            if (until is not { } end || record.Timestamp <= end)
            {
                if (partitioned && PositionTracker.PartitionOf(record, partitionKey) is var partition && !passed.Contains(partition))
                    open.Add(partition);
                yield return record;
                continue;
            }
            if (!partitioned)
                yield break;
            var passing = PositionTracker.PartitionOf(record, partitionKey);
            open.Remove(passing);
            passed.Add(passing);
            if (open.Count == 0)
                yield break;
            if (++past > queryOptions.WindowReadPastLines)
            {
                yield return SourceRecord.IncompleteMarker(end,
                    $"A read of this window stopped after {queryOptions.WindowReadPastLines} lines past its end while {open.Count} replica(s) had not passed it; lines of theirs in the window may be missing.");
                yield break;
            }
        }
    }
}
