namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The process-wide bound on what the pipeline holds for clients: every stream's replay buffer and every subscriber
/// queue charge their bytes here (<see cref="Model.LogEntry.ApproximateSize"/>, frames included). Two lock-free
/// counters, touched once per appended line (replay) or once per queued chunk (queue), never a lock.
/// <para>
/// At the limit, whoever is adding drops its OWN oldest entries until the total is back under the limit or it holds
/// only what it is adding: a replay buffer its oldest lines (late joiners see <c>not_retained</c>), a queue its
/// oldest chunks (its reader gets a gap marker with the exact count). So one huge stream or one slow client cannot
/// evict anyone else's history. The total may exceed the limit by at most the newest line of each stream and the
/// newest chunk of each queue.
/// </para>
/// <para>
/// A line held by the replay buffer and by three queues is charged four times: the figure is a conservative upper
/// bound on the memory held (the entry exists once), bought with one counter update per chunk instead of a
/// reference count per line per subscriber.
/// </para>
/// </summary>
public sealed class BufferBudget(long limitBytes)
{
    private long _replayBytes;
    private long _queuedBytes;

    /// <summary>The configured limit (<c>Pipeline:TotalBufferBytes</c>).</summary>
    public long LimitBytes { get; } = limitBytes;

    /// <summary>Bytes held by every stream's replay buffer.</summary>
    public long ReplayBytes => Volatile.Read(ref _replayBytes);

    /// <summary>Bytes held by every subscriber queue.</summary>
    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    public long TotalBytes => ReplayBytes + QueuedBytes;

    /// <summary>True when the total is above the limit: the one adding should drop its own oldest.</summary>
    public bool IsExceeded => TotalBytes > LimitBytes;

    internal void ChargeReplay(long bytes) => Interlocked.Add(ref _replayBytes, bytes);

    internal void ChargeQueued(long bytes) => Interlocked.Add(ref _queuedBytes, bytes);
}
