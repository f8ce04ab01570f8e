using System.Net.WebSockets;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Rollout;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Docker.Events;
using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Listing;

/// <summary>
/// Serves one WebSocket of <c>/ws/hosts/{id}/events</c> with the log routes' contract: refusals as an <c>error</c>
/// frame and a close code, <c>connected</c> first, heartbeats when idle, and on the server's stop the shutdown drain
/// (registered with the <see cref="SessionRegistry"/>: <c>disconnected</c> with <c>reconnect: true</c> and 1012 at a
/// moment spread over the drain window, a new feed refused with 503 while draining). Its events come from the host's shared
/// <see cref="HostEventHub"/> feed; a client that falls behind gets a <c>gap</c> frame, never holds up the others.
/// </summary>
public sealed partial class HostEventsSession(
    HostEventHub hub,
    DockerHosts hosts,
    OriginPolicy origins,
    SessionLimiter sessions,
    SessionRegistry openSessions,
    IOptions<StreamingOptions> streamingOptions,
    IOptions<ListingOptions> listingOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<HostEventsSession> logger)
{
    private readonly StreamingOptions _options = streamingOptions.Value;
    private readonly ListingOptions _listing = listingOptions.Value;

    public async Task HandleAsync(HttpContext context, string hostId)
    {
        if (await SessionSocket.RefusedBeforeUpgradeAsync(context, lifetime))
            return;
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var session = new SessionCancellation(context.Abort);
        var receiving = SessionSocket.ReceiveUntilClosedAsync(socket, session);
        Refusal? refusal;
        // Until the feed is registered, the server's stop refuses it (shutting_down); from then on the drain closes it.
        using (lifetime.ApplicationStopping.UnsafeRegister(SessionCancellation.CancelStopping, session))
        {
            try
            {
                refusal = await ServeAsync(context, socket, hostId, session);
            }
            catch (OperationCanceledException) when (session.IsCancellationRequested)
            {
                refusal = session.Drained ? Refusal.Restarting : session.Stopping ? Refusal.ShuttingDown : null;
            }
            catch (WebSocketException)
            {
                refusal = null;
            }
        }
        if (session.ClientClosed)
            refusal = null;
        await SessionSocket.CloseAsync(socket, refusal, receiving, _options.CloseTimeout, time);
    }

    private async Task<Refusal?> ServeAsync(HttpContext context, WebSocket socket, string hostId, SessionCancellation session)
    {
        var cancellationToken = session.Token;
        if (!origins.Allows(context.Request))
            return new Refusal(ErrorCodes.OriginNotAllowed, "This page's origin may not open this feed.", CloseCodes.PolicyViolation);
        var auth = InBandAuthorization.Outcome(context);
        if (!auth.Succeeded)
            return new Refusal(auth.ErrorCode!, auth.Reason!, CloseCodes.PolicyViolation);
        if (!HostIds.IsWellFormed(hostId))
            return new Refusal(ErrorCodes.InvalidParameter, HostIds.FormatMessage, CloseCodes.BadRequest, "path");
        if (!hosts.Contains(hostId))
            return new Refusal(ErrorCodes.UnknownHost, $"Unknown Docker host '{hostId}'.", CloseCodes.NotFound, "path");
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
            var open = openSessions.RegisterFeed(auth.UserId!, session);
            try
            {
                await using var subscription = hub.Subscribe(hostId);
                await SendAsync(socket, HostEventsFrames.Connected(hostId, subscription.Since, time.GetUtcNow()), session);
                LogOpened(logger, hostId, auth.UserId!);
                session.StartStreaming();
                return await PumpAsync(socket, subscription, session);
            }
            finally
            {
                openSessions.Unregister(open);
            }
        }
        finally
        {
            sessions.Exit();
        }
    }

    /// <summary>Sends each event as it comes, a gap frame before it when events were dropped, a heartbeat when idle.</summary>
    private async Task<Refusal?> PumpAsync(WebSocket socket, HostEventSubscription subscription, SessionCancellation session)
    {
        var cancellationToken = session.Token;
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
                    await SendAsync(socket, SessionFrames.Heartbeat(time.GetUtcNow()), session);
                    continue;
                }
                catch (LogSourceException ex)
                {
                    return Refusal.For(ex);
                }
            }
            if (!more)
                return cancellationToken.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested ? Refusal.Restarting : Refusal.Internal;
            while (events.TryRead(out var item))
            {
                if (subscription.TakeMissed() is > 0 and var missed)
                    await SendAsync(socket, HostEventsFrames.Gap(missed, time.GetUtcNow()), session);
                var frame = item switch
                {
                    HostEvent hostEvent => HostEventsFrames.Event(hostEvent),
                    HostFeedNotice { Kind: HostFeedNoticeKind.Gap } notice => HostEventsFrames.ReopenGap(notice.Message, time.GetUtcNow()),
                    HostFeedNotice notice => HostEventsFrames.Notice(notice, time.GetUtcNow()),
                    _ => null,
                };
                if (frame is not null)
                    await SendAsync(socket, frame, session);
            }
        }
    }

    /// <summary>One frame under <see cref="StreamingOptions.SendTimeout"/>: a client that does not read is a slow consumer, aborted.</summary>
    private async Task SendAsync(WebSocket socket, byte[] frame, SessionCancellation session)
    {
        if (!await SessionSocket.TrySendAsync(socket, frame, _options.SendTimeout, session))
            throw new WebSocketException("The client did not take a frame within the send timeout.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Events feed of host {HostId} opened for {UserId}.")]
    private static partial void LogOpened(ILogger logger, string hostId, string userId);
}
