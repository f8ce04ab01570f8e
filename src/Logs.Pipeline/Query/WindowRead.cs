using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// One read of the lines stamped in a time window, history only, that costs what the window holds. A container's log
/// API has <c>until</c>: Docker ends the read. A partitioned source (a service's tasks) has none: asked for one, it
/// drops the later lines but reads on to now, so a window far back would read the whole log since. Here the read
/// stops (and is cancelled) once its lines pass the window's end. Replicas' lines come interleaved and out of
/// timestamp order (a slower node's lines of the window can come after a faster node's later ones), so it does not
/// stop at the first later line: it reads past the end as many lines as the window gave (at least
/// <see cref="PipelineOptions.RepeatWindowEntries"/>), and never more.
/// </summary>
internal static class WindowRead
{
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(ILogSource source, StreamKey key, LogTimestamp since, LogTimestamp? until, PipelineOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var partitioned = source.TailPartitionKey is not null;
        var start = SourceStart.Range(since, partitioned ? null : until);
        var inWindow = 0L;
        var past = 0L;
        await foreach (var record in source.ReadAsync(key, start, cancellationToken).ConfigureAwait(false))
        {
            if (until is not { } end || record.Timestamp <= end)
            {
                inWindow++;
                yield return record;
                continue;
            }
            if (!partitioned || ++past > Math.Max(inWindow, options.RepeatWindowEntries))
                yield break;
        }
    }
}
