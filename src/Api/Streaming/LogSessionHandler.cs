using System.Diagnostics;
using System.Net.WebSockets;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Query;
using LogsMigration.Api.Rollout;
using LogsMigration.Docker;
using LogsMigration.Legacy;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// Serves one WebSocket of any log route: checks the origin, the token and the parameters, resolves the resource,
/// then hands the connection to a <see cref="LogSessionSender"/> fed by the shared pipeline.
/// Every refusal is an <c>error</c> frame with a code, then a close code from <see cref="CloseCodes"/>.
/// </summary>
public sealed partial class LogSessionHandler(
    LogStreamManager streams,
    LogQueries queries,
    LegacyLogStreams legacy,
    PathSelector paths,
    SessionRegistry openSessions,
    ResolveCache resolver,
    LogSourceRegistry sources,
    DockerHosts hosts,
    SessionLimiter sessions,
    IOptions<StreamingOptions> streamingOptions,
    IOptions<AuthOptions> authOptions,
    IHostApplicationLifetime lifetime,
    LogMetrics metrics,
    TimeProvider time,
    ILogger<LogSessionHandler> logger)
{
    private readonly StreamingOptions _options = streamingOptions.Value;
    private readonly HashSet<string> _allowedOrigins = new(authOptions.Value.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    public async Task HandleAsync(HttpContext context, LogSourceType sourceType, string? resource)
    {
        if (await SessionSocket.RefusedBeforeUpgradeAsync(context, lifetime))
            return;

        using var activity = LogMetrics.Activities.StartActivity("log.session", ActivityKind.Server);
        activity?.SetTag("logs.source", sourceType.ToWire());
        var connection = new Connection(sourceType, time.GetTimestamp(), activity);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        // One cancellation for the whole session. The receive loop cancels it when the client closes or the connection
        // breaks (which is also when the request is aborted), the server's stop through this registration.
        using var session = new SessionCancellation(context.Abort);
        var receiving = SessionSocket.ReceiveUntilClosedAsync(socket, session);
        Refusal? refusal;
        using (lifetime.ApplicationStopping.UnsafeRegister(SessionCancellation.CancelStopping, session))
        {
            refusal = await OpenAsync(context, socket, connection, resource, session);
        }
        if (session.ClientClosed)
            refusal = null;
        connection.Record(refusal, metrics);
        await SessionSocket.CloseAsync(socket, refusal, receiving, _options.CloseTimeout, time);
    }

    /// <summary>What is known of one connection as it goes: for its metrics and its trace.</summary>
    private sealed class Connection(LogSourceType sourceType, long acceptedTimestamp, Activity? activity)
    {
        public LogSourceType SourceType { get; } = sourceType;
        public long AcceptedTimestamp { get; } = acceptedTimestamp;
        public Activity? Activity { get; } = activity;
        public LogPath? Path { get; set; }

        public void Record(Refusal? refusal, LogMetrics metrics)
        {
            Activity?.SetTag("logs.close_code", refusal?.CloseCode);
            if (refusal?.Code is not { } code)
                return;
            Activity?.SetTag("logs.error_code", code);
            var tags = LogMetrics.Tags(Path switch { LogPath.Unified => LogMetrics.Unified, LogPath.Legacy => LogMetrics.Legacy, _ => "none" }, SourceType);
            tags.Add("code", code);
            metrics.Refusals.Add(1, tags);
        }
    }

    private async Task<Refusal?> OpenAsync(HttpContext context, WebSocket socket, Connection connection, string? resource, SessionCancellation session)
    {
        var sourceType = connection.SourceType;
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && _allowedOrigins.Count > 0 && !_allowedOrigins.Contains(origin.TrimEnd('/')))
            return new Refusal(ErrorCodes.OriginNotAllowed, "This page's origin may not open log streams.", CloseCodes.PolicyViolation);

        var auth = InBandAuthorization.Outcome(context);
        if (!auth.Succeeded)
            return new Refusal(auth.ErrorCode!, auth.Reason!, CloseCodes.PolicyViolation);
        connection.Activity?.AddEvent(new ActivityEvent("authenticated"));

        var request = LogStreamRequest.TryParse(sourceType, resource, context.Request.Query, _options, out var invalid, queries.Options, time.GetUtcNow());
        if (request is null)
            return new Refusal(ErrorCodes.InvalidParameter, invalid!.Message, CloseCodes.BadRequest, invalid.Parameter);
        var hostId = request.HostId ?? hosts.DefaultHostId;
        if (!hosts.Contains(hostId))
            return new Refusal(ErrorCodes.UnknownHost, $"Unknown Docker host '{hostId}'.", CloseCodes.NotFound, "host_id");

        if (!sessions.TryEnter())
            return new Refusal(ErrorCodes.TooManyClients, "The server holds its maximum number of log sessions; try again later.", CloseCodes.TooManyClients);
        try
        {
            return await StreamAsync(socket, request, hostId, auth.UserId!, connection, session);
        }
        finally
        {
            sessions.Exit();
        }
    }

    private async Task<Refusal?> StreamAsync(WebSocket socket, LogStreamRequest request, string hostId, string userId, Connection connection, SessionCancellation cancellation)
    {
        var cancellationToken = cancellation.Token;
        StreamKey key;
        LogPath path;
        // The open phase has its own deadline; its source goes as soon as the subscription is open, so an idle session
        // keeps neither its timer nor its registration.
        var open = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var openStarted = time.GetTimestamp();
            open.CancelAfter(_options.OpenTimeout);
            try
            {
                var resourceId = await resolver.ResolveAsync(request.SourceType, hostId, request.Resource, open.Token);
                key = new StreamKey(hostId, request.SourceType, resourceId);
                path = await paths.SelectAsync(request.SourceType, userId, open.Token);
            }
            catch (Exception ex)
            {
                return OpenFailure(ex, open, cancellationToken);
            }

            connection.Path = path;
            connection.Activity?.SetTag("logs.path", path == LogPath.Unified ? LogMetrics.Unified : LogMetrics.Legacy);
            // Registered before the (possibly slow) subscribe, so a drain in the meantime reaches this session too.
            var session = openSessions.Register(request.SourceType, path, userId, cancellation);
            metrics.Sessions.Add(1, in SessionTags.For(path, request.SourceType));
            try
            {
                LogSubscription subscription;
                QueryOpening? query = null;
                try
                {
                    // The open deadline is the upstream's (resolve, subscribe): it pauses while `connected` goes to the
                    // client, which has the send timeout like any frame, so a client that does not read is not taken for a
                    // Docker host that does not answer.
                    open.CancelAfter(Timeout.InfiniteTimeSpan);
                    var left = _options.OpenTimeout - time.GetElapsedTime(openStarted);
                    await SendConnectedAsync(socket, SessionFrames.Connected(key, path, $"Connected to {request.SourceType.ToWire()} logs of {request.Resource}.", time.GetUtcNow(), _options.EffectiveInstanceId,
                        sources.TryGet(key.SourceType, out var source) ? source.ConnectedFields(key) : null), cancellation);
                    open.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
                    var wanted = new SubscriptionRequest(request.Tail, request.Follow, request.Resume, request.Cursor);
                    subscription = path != LogPath.Unified ? LogQueries.Filtered(legacy.Open(key, request.Tail, request.Follow), request.Filter)
                        : request.Filter is { } filter ? (query = await queries.OpenAsync(key, wanted, filter, open.Token)).Subscription
                        : await streams.SubscribeAsync(key, wanted, open.Token);
                }
                catch (Exception ex)
                {
                    return OpenFailure(ex, open, cancellationToken);
                }
                open.Dispose();
                open = null;

                LogSessionOpened(logger, key, path, userId, request.Tail, request.Follow);
                connection.Activity?.AddEvent(new ActivityEvent("subscribed"));
                await using (subscription)
                {
                    // A filtered history the buffer could not fill, or a range older than it: read for this client now.
                    if (query is not null && await QuerySession.FillAsync(socket, query, request.Progress, _options.SendTimeout, time, cancellation) is { } unfilled)
                        return unfilled.Refusal;
                    var sender = new LogSessionSender(socket, subscription, request, _options, time, metrics, path, connection.AcceptedTimestamp, cancellation);
                    SessionOutcome outcome;
                    // A subscriber the pipeline closes (stalled) ends the session too; the sender tells it from the rest.
                    using (subscription.Aborted.UnsafeRegister(SessionCancellation.CancelStalled, cancellation))
                    {
                        cancellation.StartStreaming();
                        outcome = await sender.RunAsync(cancellationToken);
                    }
                    if (cancellation.Drained && !cancellation.ClientClosed && outcome.Reason == LogSessionSender.Cancelled)
                        outcome = new SessionOutcome("drained", cancellation.Restarting || cancellation.Stopping
                            ? Refusal.Restarting
                            : Refusal.Reconnect($"{request.SourceType.ToWire()} logs moved to another path; reconnect."));
                    else if (outcome.Fault is { } fault)
                        LogSessionFault(logger, key, fault);
                    LogSessionClosed(logger, key, path, userId, outcome.Reason);
                    return outcome.Refusal;
                }
            }
            finally
            {
                metrics.Sessions.Add(-1, in SessionTags.For(path, request.SourceType));
                openSessions.Unregister(session);
            }
        }
        finally
        {
            open?.Dispose();
        }
    }

    /// <summary>
    /// Sends <c>connected</c> under the session's cancellation and <see cref="StreamingOptions.SendTimeout"/>; a send that
    /// times out aborts the socket (a client that does not read cannot read a close frame either).
    /// </summary>
    private async Task SendConnectedAsync(WebSocket socket, byte[] frame, SessionCancellation session)
    {
        if (!await SessionSocket.TrySendAsync(socket, frame, _options.SendTimeout, session))
            throw new SlowClientException();
    }

    /// <summary>The client did not take the <c>connected</c> frame within the send timeout.</summary>
    private sealed class SlowClientException() : Exception("The client did not take the connected frame in time.");

    /// <summary>
    /// How a failure while opening ends the session. Every exception maps to a refusal (null: the client is gone),
    /// so even a fault in the server gives the client an <c>error</c> frame and 1011.
    /// </summary>
    private Refusal? OpenFailure(Exception ex, CancellationTokenSource open, CancellationToken session)
    {
        switch (ex)
        {
            case LogSourceException source:
                return Refusal.For(source);
            case InvalidResumeException resume:
                return new Refusal(ErrorCodes.InvalidParameter, resume.Message, CloseCodes.BadRequest, "resume");
            case SlowClientException slow:
                return new Refusal(ErrorCodes.SlowConsumer, slow.Message, CloseCodes.SlowConsumer);
            case OperationCanceledException when open.IsCancellationRequested && !session.IsCancellationRequested:
                return new Refusal(ErrorCodes.UpstreamUnavailable, $"The log source did not answer within {_options.OpenTimeout.TotalSeconds:0} s.", CloseCodes.Unavailable);
            case OperationCanceledException when lifetime.ApplicationStopping.IsCancellationRequested:
                return Refusal.ShuttingDown;
            case OperationCanceledException or WebSocketException:
                return null;
            default:
                LogOpenFault(logger, ex);
                return Refusal.Internal;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Log session opened on {Key} ({Path} path) for user {UserId} (tail {Tail}, follow {Follow}).")]
    private static partial void LogSessionOpened(ILogger logger, StreamKey key, LogPath path, string userId, int tail, bool follow);

    [LoggerMessage(Level = LogLevel.Error, Message = "A log session failed while opening.")]
    private static partial void LogOpenFault(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A log session on {Key} failed.")]
    private static partial void LogSessionFault(ILogger logger, StreamKey key, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Log session on {Key} ({Path} path) for user {UserId} ended: {Reason}.")]
    private static partial void LogSessionClosed(ILogger logger, StreamKey key, LogPath path, string userId, string reason);
}
