using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Puts a read of several replicas (one service's, or a whole stack's) in timestamp order through a
/// <see cref="ServiceLineMerger"/>: each line is held for the merge window, and the loop wakes for whichever comes
/// first, the next line or the first held line falling due, so a quiet read still releases what it holds on time.
/// </summary>
internal static class MergedRead
{
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(IAsyncEnumerable<SourceRecord> lines, TimeSpan window, int maxHeld, TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var merger = new ServiceLineMerger(window, time, maxHeld);
        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var enumerator = lines.GetAsyncEnumerator(read.Token);
        Task<bool>? next = null;
        Task? releaseTimer = null;
        try
        {
            while (true)
            {
                next ??= enumerator.MoveNextAsync().AsTask();
                if (!next.IsCompleted && merger.UntilNextRelease() is { } due)
                {
                    // One timer at a time: when it fires, whatever is due goes out and it is armed again for the new first line.
                    if (releaseTimer is null || releaseTimer.IsCompleted)
                        releaseTimer = due > TimeSpan.Zero ? Task.Delay(due, time, cancellationToken) : Task.CompletedTask;
                    await Task.WhenAny(next, releaseTimer).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                if (next.IsCompleted || !merger.HasHeld)
                {
                    var more = await next.ConfigureAwait(false);
                    next = null;
                    if (!more)
                        break;
                    merger.Add(enumerator.Current);
                }
                while (merger.TryTake(out var record))
                    yield return record;
            }
            while (merger.TryDrain(out var record))
                yield return record;
        }
        finally
        {
            await read.CancelAsync().ConfigureAwait(false);
            // The enumerator cannot be disposed under a pending MoveNextAsync: let it finish (cancelled) first.
            if (next is not null)
                await Task.WhenAny(next).ConfigureAwait(false);
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
