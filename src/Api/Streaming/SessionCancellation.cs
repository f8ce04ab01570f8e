using LogsMigration.Api.Rollout;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// The one cancellation of a log session, and why it fired: the client closed or the connection broke, the server is
/// stopping, a drain moved the session (or the server's shutdown asked it to reconnect elsewhere), or the pipeline
/// closed the subscriber as stalled. Each cause cancels this source directly (a callback or a flag, not a linked source
/// per cause), which keeps an idle session small.
/// </summary>
internal sealed class SessionCancellation(Action abortConnection) : CancellationTokenSource, IDrainTarget
{
    private const int Streaming = 1 << 16;
    private const int Registered = 1 << 17;
    private int _reasons;

    /// <summary>The client closed or the connection broke, and not because the server aborted the socket.</summary>
    public bool ClientClosed => Has(SessionEnd.ClientClosed) && !Has(SessionEnd.ServerAborted);

    /// <summary>The server is stopping (a registered session is not cancelled for it: the shutdown drain closes it).</summary>
    public bool Stopping => Has(SessionEnd.Stopping);

    public bool Drained => Has(SessionEnd.Drained);

    /// <summary>The drain came from the server's shutdown, not from a rollout.</summary>
    public bool Restarting => Has(SessionEnd.Restarting);

    /// <summary>The server aborted the socket (a client that did not take a frame): its end is the server's, not the client's.</summary>
    public bool ServerAborted => Has(SessionEnd.ServerAborted);

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
    /// Tears the connection down: the WebSocket and the HTTP connection under it. Kestrel does not complete a write
    /// pending on a full socket when only the WebSocket's stream is disposed, so aborting the socket alone would leave
    /// the sender waiting for a client that never reads. <paramref name="byServer"/> is noted first, so the receive
    /// loop's end is not taken for the client's close (and the refusal is counted with its real code).
    /// </summary>
    public void Abort(System.Net.WebSockets.WebSocket socket, bool byServer)
    {
        if (byServer)
            Interlocked.Or(ref _reasons, (int)SessionEnd.ServerAborted);
        socket.Abort();
        abortConnection();
    }

    /// <summary>
    /// A drain reaches the session from the moment it is registered, but takes effect only once it streams: one that
    /// comes while the session is still opening is kept until <see cref="StartStreaming"/>.
    /// </summary>
    void IDrainTarget.Drain(DrainCause cause)
    {
        var reasons = (int)SessionEnd.Drained | (cause == DrainCause.Shutdown ? (int)SessionEnd.Restarting : 0);
        if ((Interlocked.Or(ref _reasons, reasons) & Streaming) != 0)
            Cancel(SessionEnd.Drained);
    }

    /// <summary>
    /// From now on the session registry owns the server's stop for this session: it drains it (reconnect, 1012) at a
    /// moment spread over the shutdown window, instead of <see cref="CancelStopping"/> ending it at once.
    /// </summary>
    void IDrainTarget.Registered() => Interlocked.Or(ref _reasons, Registered);

    /// <summary>The subscription is open and the sender starts: a drain asked for while opening cancels now.</summary>
    public void StartStreaming()
    {
        if ((Interlocked.Or(ref _reasons, Streaming) & (int)SessionEnd.Drained) != 0)
            Cancel(SessionEnd.Drained);
    }

    /// <summary>
    /// Cancels <paramref name="state"/> (a <see cref="SessionCancellation"/>) as stopping, unless the session registry
    /// already drains it: for <see cref="CancellationToken.UnsafeRegister(Action{object?}, object?)"/>.
    /// A session still authenticating or resolving when the server stops is refused with <c>shutting_down</c>.
    /// </summary>
    public static readonly Action<object?> CancelStopping = static state =>
    {
        var session = (SessionCancellation)state!;
        if ((Interlocked.Or(ref session._reasons, (int)SessionEnd.Stopping) & Registered) == 0)
            session.Cancel(SessionEnd.Stopping);
    };

    /// <summary>Cancels <paramref name="state"/> as stalled (the pipeline aborted the subscriber).</summary>
    public static readonly Action<object?> CancelStalled = static state => ((SessionCancellation)state!).Cancel(SessionEnd.Stalled);

    private bool Has(SessionEnd reason) => (Volatile.Read(ref _reasons) & (int)reason) != 0;

    private bool Has(int flag) => (Volatile.Read(ref _reasons) & flag) != 0;
}

[Flags]
internal enum SessionEnd
{
    ClientClosed = 1,
    Stopping = 2,
    Drained = 4,
    Stalled = 8,
    Restarting = 16,
    ServerAborted = 32,
}
