using LogsMigration.Api.Rollout;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// The one cancellation of a log session, and why it fired: the client closed or the connection broke, the server is
/// stopping, a drain moved the session, or the pipeline closed the subscriber as stalled. Each cause cancels this
/// source directly (a callback or a flag, not a linked source per cause), which keeps an idle session small.
/// </summary>
internal sealed class SessionCancellation : CancellationTokenSource, IDrainTarget
{
    private const int Streaming = 1 << 16;
    private int _reasons;

    public bool ClientClosed => Has(SessionEnd.ClientClosed);

    public bool Stopping => Has(SessionEnd.Stopping);

    public bool Drained => Has(SessionEnd.Drained);

    /// <summary>Notes the cause and cancels. Safe from a timer racing the end of the session (after dispose it does nothing).</summary>
    public void Cancel(SessionEnd reason)
    {
        Interlocked.Or(ref _reasons, (int)reason);
        try
        {
            Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Notes the cause and cancels with the callbacks run off the caller's thread.</summary>
    public Task CancelAsync(SessionEnd reason)
    {
        Interlocked.Or(ref _reasons, (int)reason);
        return CancelAsync();
    }

    /// <summary>
    /// A drain reaches the session from the moment it is registered, but takes effect only once it streams: one that
    /// comes while the session is still opening is kept until <see cref="StartStreaming"/>.
    /// </summary>
    void IDrainTarget.Drain()
    {
        if ((Interlocked.Or(ref _reasons, (int)SessionEnd.Drained) & Streaming) != 0)
            Cancel(SessionEnd.Drained);
    }

    /// <summary>The subscription is open and the sender starts: a drain asked for while opening cancels now.</summary>
    public void StartStreaming()
    {
        if ((Interlocked.Or(ref _reasons, Streaming) & (int)SessionEnd.Drained) != 0)
            Cancel(SessionEnd.Drained);
    }

    /// <summary>Cancels <paramref name="state"/> (a <see cref="SessionCancellation"/>) as stopping: for <see cref="CancellationToken.UnsafeRegister(Action{object?}, object?)"/>.</summary>
    public static readonly Action<object?> CancelStopping = static state => ((SessionCancellation)state!).Cancel(SessionEnd.Stopping);

    /// <summary>Cancels <paramref name="state"/> as stalled (the pipeline aborted the subscriber).</summary>
    public static readonly Action<object?> CancelStalled = static state => ((SessionCancellation)state!).Cancel(SessionEnd.Stalled);

    private bool Has(SessionEnd reason) => (Volatile.Read(ref _reasons) & (int)reason) != 0;
}

[Flags]
internal enum SessionEnd
{
    ClientClosed = 1,
    Stopping = 2,
    Drained = 4,
    Stalled = 8,
}
