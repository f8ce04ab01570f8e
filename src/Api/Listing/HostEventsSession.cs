using System.Net.WebSockets;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Docker.Events;
using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Listing;

/// <summary>
/// Serves one WebSocket of <c>/ws/hosts/{id}/events</c> with the log routes' contract: refusals as an <c>error</c>
/// frame and a close code, <c>connected</c> first, heartbeats when idle, <c>disconnected</c> with
/// <c>reconnect: true</c> and 1012 when the server stops. Its events come from the host's shared
/// <see cref="HostEventHub"/> feed; a client that falls behind gets a <c>gap</c> frame, never holds up the others.
/// </summary>
public sealed partial class HostEventsSession(
    HostEventHub hub,
    DockerHosts hosts,
    OriginPolicy origins,
    SessionLimiter sessions,
    IOptions<StreamingOptions> streamingOptions,
    IOptions<ListingOptions> listingOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<HostEventsSession> logger)
{
    private const int ReceiveBufferBytes = 64;
    private readonly StreamingOptions _options = streamingOptions.Value;
    private readonly ListingOptions _listing = listingOptions.Value;

    public async Task HandleAsync(HttpContext context, string hostId)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = "websocket_required", message = "This route serves WebSocket connections only." });
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var session = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        var receiving = ReceiveUntilClosedAsync(socket, session);
        Refusal? refusal;
        try
        {
            refusal = await ServeAsync(context, socket, hostId, session.Token);
        }
        catch (OperationCanceledException) when (session.IsCancellationRequested)
        {
            refusal = lifetime.ApplicationStopping.IsCancellationRequested ? Refusal.Restarting : null;
        }
        catch (WebSocketException)
        {
            refusal = null;
        }
        await CloseAsync(socket, refusal, receiving);
    }

    private async Task<Refusal?> ServeAsync(HttpContext context, WebSocket socket, string hostId, CancellationToken cancellationToken)
    {
        if (!origins.Allows(context.Request))
            return new Refusal(ErrorCodes.OriginNotAllowed, "This page's origin may not open this feed.", CloseCodes.PolicyViolation);
        var auth = InBandAuthorization.Outcome(context);
        if (!auth.Succeeded)
            return new Refusal(auth.ErrorCode!, auth.Reason!, CloseCodes.PolicyViolation);
        if (!hosts.Contains(hostId))
            return new Refusal(ErrorCodes.NotFound, $"Unknown Docker host '{hostId}'.", CloseCodes.NotFound, "path");
        if (!sessions.TryEnter())
            return new Refusal(ErrorCodes.TooManyClients, "The server holds its maximum number of sessions; try again later.", CloseCodes.TooManyClients);
        try
        {
            // A host that does not answer is refused now, as a log route would, rather than after `connected`.
            using (var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ping.CancelAfter(_listing.HostTimeout);
                try
                {
                    await hosts.PingAsync(hostId, ping.Token);
                }
                catch (LogSourceException ex)
                {
                    return Refusal.For(ex);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return new Refusal(ErrorCodes.UpstreamUnavailable, $"Docker host '{hostId}' did not answer within {_listing.HostTimeout.TotalSeconds:0.#} s.", CloseCodes.Unavailable);
                }
            }
            await using var subscription = hub.Subscribe(hostId);
            await SendAsync(socket, HostEventsFrames.Connected(hostId, time.GetUtcNow()), cancellationToken);
            LogOpened(logger, hostId, auth.UserId!);
            return await PumpAsync(socket, subscription, cancellationToken);
        }
        finally
        {
            sessions.Exit();
        }
    }

    /// <summary>Sends each event as it comes, a gap frame before it when events were dropped, a heartbeat when idle.</summary>
    private async Task<Refusal?> PumpAsync(WebSocket socket, HostEventSubscription subscription, CancellationToken cancellationToken)
    {
        var events = subscription.Events;
        while (true)
        {
            bool more;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                idle.CancelAfter(_options.HeartbeatInterval);
                try
                {
                    more = await events.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await SendAsync(socket, SessionFrames.Heartbeat(time.GetUtcNow()), cancellationToken);
                    continue;
                }
                catch (LogSourceException ex)
                {
                    return Refusal.For(ex);
                }
            }
            if (!more)
                return cancellationToken.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested ? Refusal.Restarting : Refusal.Internal;
            while (events.TryRead(out var hostEvent))
            {
                if (subscription.TakeMissed() is > 0 and var missed)
                    await SendAsync(socket, HostEventsFrames.Gap(missed, time.GetUtcNow()), cancellationToken);
                await SendAsync(socket, HostEventsFrames.Event(hostEvent), cancellationToken);
            }
        }
    }

    /// <summary>One frame under <see cref="StreamingOptions.SendTimeout"/>: a client that does not read is a slow consumer.</summary>
    private async Task SendAsync(WebSocket socket, byte[] frame, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.SendTimeout);
        try
        {
            await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Abort();
            throw new WebSocketException("The client did not take a frame within the send timeout.");
        }
    }

    private static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationTokenSource session)
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
        await session.CancelAsync();
    }

    private async Task CloseAsync(WebSocket socket, Refusal? refusal, Task receiving)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout);
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
                await socket.CloseOutputAsync((WebSocketCloseStatus)refusal.CloseCode, refusal.Code ?? "reconnect", timeout.Token);
            }
            await receiving.WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        if (socket.State is not (WebSocketState.Closed or WebSocketState.Aborted))
            socket.Abort();
        await receiving;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Events feed of host {HostId} opened for {UserId}.")]
    private static partial void LogOpened(ILogger logger, string hostId, string userId);
}
