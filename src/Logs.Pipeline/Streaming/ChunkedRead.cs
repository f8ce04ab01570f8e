using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// Groups an upstream read into chunks of the records it already has: a chunk is handed on as soon as the next record
/// would mean waiting, so a quiet stream passes each line on at once (a chunk of one) and a busy one passes hundreds
/// per hop. Everything downstream (sequencing, the broadcast, every subscriber's queue) then costs per chunk, not
/// per line, exactly when the lines come fastest.
/// </summary>
internal static class ChunkedRead
{
    /// <summary>Largest chunk, in records.</summary>
    public const int MaxRecords = 256;

    /// <summary>
    /// Reads <paramref name="open"/> in chunks. The list yielded is reused: copy what you keep before asking for the
    /// next. The next read is already started while a chunk is handed on; stopping early cancels and awaits it.
    /// </summary>
    public static async IAsyncEnumerable<List<T>> ReadAsync<T>(Func<CancellationToken, IAsyncEnumerable<T>> open, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var records = open(stop.Token).GetAsyncEnumerator(stop.Token);
        var chunk = new List<T>();
        var next = default(ValueTask<bool>);
        var pending = false;
        ExceptionDispatchInfo? failure = null;
        try
        {
            while (true)
            {
                next = records.MoveNextAsync();
                pending = true;
                if (!next.IsCompleted && chunk.Count > 0)
                {
                    yield return chunk;
                    chunk.Clear();
                }
                pending = false;
                bool more;
                try
                {
                    more = await next.ConfigureAwait(false);
                }
                catch (Exception ex) when (chunk.Count > 0)
                {
                    // The read failed at once: the lines it gave before go on first, then the failure.
                    failure = ExceptionDispatchInfo.Capture(ex);
                    more = false;
                }
                if (failure is not null)
                {
                    yield return chunk;
                    failure.Throw();
                }
                if (!more)
                    break;
                chunk.Add(records.Current);
                if (chunk.Count >= MaxRecords)
                {
                    yield return chunk;
                    chunk.Clear();
                }
            }
            if (chunk.Count > 0)
                yield return chunk;
        }
        finally
        {
            if (pending)
            {
                // The reader stopped while a read was in flight: end that read before disposing the enumerator.
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The read's outcome no longer matters to anyone; its cancellation is expected.
                }
            }
            await records.DisposeAsync().ConfigureAwait(false);
        }
    }
}
