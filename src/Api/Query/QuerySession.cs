using System.Net.WebSockets;
using LogsMigration.Api.Streaming;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Api.Query;

/// <summary>
/// The query's part of a WebSocket session, before its sender starts: the reads that complete a filtered history (the
/// backward scan, the older part of a range), with <c>scan_progress</c> frames when the client asked for them. The
/// socket has no other writer yet, so the frames go straight to it.
/// </summary>
internal static class QuerySession
{
    /// <returns>Null when the history is complete; else how the session ends (a refusal, or none when the client left).</returns>
    public static async Task<QueryFailure?> FillAsync(WebSocket socket, QueryOpening opening, bool progress, TimeSpan sendTimeout, TimeProvider time,
        SessionCancellation session)
    {
        var report = progress && opening.Scans ? (Func<ScanProgress, ValueTask>)(p => SendAsync(socket, QueryFrames.ScanProgress(p, time.GetUtcNow()), sendTimeout, session)) : null;
        try
        {
            await opening.FillAsync(report, session.Token);
            return null;
        }
        catch (LogSourceException ex)
        {
            return new QueryFailure(Refusal.For(ex));
        }
        catch (SlowProgressException)
        {
            return new QueryFailure(new Refusal(ErrorCodes.SlowConsumer, "The client did not take a scan_progress frame in time.", CloseCodes.SlowConsumer));
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client left, or a drain or the server's stop came while the history was read: reconnect.
            return new QueryFailure(session.ClientClosed ? null : Refusal.Restarting);
        }
    }

    private static async ValueTask SendAsync(WebSocket socket, byte[] frame, TimeSpan sendTimeout, SessionCancellation session)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
        timeout.CancelAfter(sendTimeout);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }
        catch (OperationCanceledException) when (!session.IsCancellationRequested)
        {
            session.Abort(socket, byServer: true);
            throw new SlowProgressException();
        }
    }

    private sealed class SlowProgressException : Exception;
}

/// <summary>How a session whose history could not be completed ends (null: the client is gone).</summary>
internal sealed record QueryFailure(Refusal? Refusal);
