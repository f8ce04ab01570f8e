using System.Net.WebSockets;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// What every WebSocket session (the log routes, the events feed) does the same way: refuse before the upgrade, read
/// until the client closes, send one frame under the send timeout, and end with the refusal's frame and close code.
/// </summary>
internal static class SessionSocket
{
    // Clients send nothing but their close frame, whose payload the socket reads into its own buffer: this one only
    // takes (and drops) whatever data a client might send anyway, a little at a time.
    private const int ReceiveBufferBytes = 64;

    /// <summary>
    /// Answers a request that is not a WebSocket (400), or that comes while this instance drains (503
    /// <c>shutting_down</c>, before the upgrade, so a proxy (HAProxy's retry-on 503) places the client on another
    /// instance instead of handing it a socket that closes at once). True when it answered.
    /// </summary>
    public static async Task<bool> RefusedBeforeUpgradeAsync(HttpContext context, IHostApplicationLifetime lifetime)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = "websocket_required", message = "This route serves WebSocket connections only." });
            return true;
        }
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(new { error = new { code = ErrorCodes.ShuttingDown, message = "This instance is draining; connect to another one." } });
            return true;
        }
        return false;
    }

    /// <summary>
    /// Reads (and ignores) what the client sends, so its close frame is seen; cancels <paramref name="session"/>
    /// when the client closes or the connection breaks.
    /// </summary>
    public static async Task ReceiveUntilClosedAsync(WebSocket socket, SessionCancellation session)
    {
        var buffer = new byte[ReceiveBufferBytes];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await session.CancelAsync(SessionEnd.ClientClosed);
    }

    /// <summary>
    /// Sends one frame under <paramref name="session"/>'s cancellation and <paramref name="sendTimeout"/>. A client that
    /// does not take it in time is a slow consumer: the connection is aborted (a client that does not read cannot read a
    /// close frame either) and false is returned.
    /// </summary>
    public static async Task<bool> TrySendAsync(WebSocket socket, byte[] frame, TimeSpan sendTimeout, SessionCancellation session)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
        timeout.CancelAfter(sendTimeout);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            return true;
        }
        catch (OperationCanceledException) when (!session.IsCancellationRequested)
        {
            session.Abort(socket, byServer: true);
            return false;
        }
    }

    /// <summary>
    /// Ends the session: the refusal's frame (<c>error</c>, or <c>disconnected</c> with <c>reconnect: true</c>) and
    /// its close code, then waits for the client's close for <paramref name="closeTimeout"/>; a client that is gone or
    /// does not read is aborted. When the client closed first, completes its handshake.
    /// </summary>
    public static async Task CloseAsync(WebSocket socket, Refusal? refusal, Task receiving, TimeSpan closeTimeout, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(closeTimeout);
        try
        {
            if (socket.State == WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "Closed by the client.", timeout.Token);
            }
            else if (refusal is not null && socket.State == WebSocketState.Open)
            {
                var frame = refusal.Reconnects ? SessionFrames.Disconnected(refusal.Message, time.GetUtcNow(), reconnect: true)
                    : refusal.Code is not null ? SessionFrames.Error(refusal.Code, refusal.Message, time.GetUtcNow(), refusal.Parameter)
                    : null;
                if (frame is not null)
                    await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
                await socket.CloseOutputAsync((WebSocketCloseStatus)refusal.CloseCode, Truncate(refusal.Message), timeout.Token);
            }
            await receiving.WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or TimeoutException)
        {
        }
        if (socket.State is not (WebSocketState.Closed or WebSocketState.Aborted))
            socket.Abort();
        await receiving;
    }

    // A close reason may hold at most 123 UTF-8 bytes: cut on a character boundary below that.
    private static string Truncate(string reason)
    {
        const int MaxReasonBytes = 123;
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes)
            return reason;
        var length = reason.Length;
        while (length > 0 && System.Text.Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > MaxReasonBytes - 3)
            length--;
        if (length > 0 && char.IsHighSurrogate(reason[length - 1]))
            length--;
        return string.Concat(reason.AsSpan(0, length), "...");
    }
}
