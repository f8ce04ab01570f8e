using LogsMigration.Api.Auth;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Docker.Events;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Api.Operations;

public static class OperationsApi
{
    private static readonly TimeSpan ReadinessPingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <c>/healthz</c>: the process is alive. <c>/readyz</c>: every configured Docker host answers (503 otherwise).
    /// <c>/admin/streams</c>: the live shared streams, for admins only. The probes are open, as they always were:
    /// an orchestrator has no token.
    /// </summary>
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" })).AllowAnonymous();
        app.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        app.MapAdminGroup().MapGet("/streams", ListStreams);
        return app;
    }

    /// <summary><c>/admin/*</c>: every endpoint of the group needs an admin token (<c>Authorization: Bearer</c> or <c>token</c>).</summary>
    public static RouteGroupBuilder MapAdminGroup(this IEndpointRouteBuilder app) =>
        app.MapGroup("/admin").RequireAuthorization(AuthPolicies.Admin).WithTags("Admin");

    private static async Task<IResult> ReadyAsync(DockerHosts hosts, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        // Draining (SIGTERM): no new viewers, but the open ones stay until the drain moves them. 404 is what HAProxy's
        // `http-check disable-on-404` reads as exactly that; any readiness probe reads it as not ready.
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return Results.Json(new { status = "draining" }, statusCode: StatusCodes.Status404NotFound);
        var checks = await Task.WhenAll(hosts.HostIds.Select(async id =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ReadinessPingTimeout);
            try
            {
                await hosts.PingAsync(id, timeout.Token);
                return new HostReadiness(id, true, null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HostReadiness(id, false, ex is OperationCanceledException ? "no answer within 3 s" : ex.Message);
            }
        }));
        var ready = checks.All(c => c.Answers);
        return Results.Json(new { status = ready ? "ready" : "not_ready", hosts = checks },
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult ListStreams(LogStreamManager streams, SessionLimiter sessions, HostEventHub events, DockerHosts hosts, ResolveCache resolver,
        Microsoft.Extensions.Options.IOptions<StreamingOptions> streaming)
    {
        var budget = streams.Budget;
        var live = streams.ListStreams();
        return Results.Ok(new
        {
            sessions = sessions.Open,
            instance = streaming.Value.EffectiveInstanceId,
            // Resolutions asked of Docker (each an inspect) against those answered from the cache: a reconnect storm's cost.
            resolve = new { source_calls = resolver.SourceCalls, cache_hits = resolver.Hits, invalidations = resolver.Invalidations, cached = resolver.Count },
            // Reads from Docker for resuming clients whose cursor no buffer reached; a reconnect herd shares one.
            catch_up_reads = CatchUp.Reads,
            buffers = new
            {
                replay_bytes = budget.ReplayBytes,
                queued_bytes = budget.QueuedBytes,
                total_bytes = budget.TotalBytes,
                limit_bytes = budget.LimitBytes,
            },
            // Each configured host, with its own streams: a host that is down shows its streams retrying, the others' not.
            hosts = hosts.HostIds.Order(StringComparer.Ordinal).Select(id => new
            {
                id,
                streams = live.Count(s => s.Key.HostId == id),
                subscribers = live.Where(s => s.Key.HostId == id).Sum(s => s.Subscribers),
                retrying = live.Count(s => s.Key.HostId == id && s.State == UpstreamState.Retrying),
            }),
            streams = live.Select(s => new
            {
                key = new { host_id = s.Key.HostId, source_type = s.Key.SourceType.ToWire(), source_id = s.Key.ResourceId, streams = s.Key.Streams.ToString().ToLowerInvariant() },
                epoch = s.Epoch,
                state = s.State.ToString().ToLowerInvariant(),
                subscribers = s.Subscribers,
                replay_entries = s.ReplayEntries,
                replay_bytes = s.ReplayBytes,
                queued_entries = s.QueuedEntries,
                queued_bytes = s.QueuedBytes,
                sequence = s.HeadSequence,
            }),
            // One Docker events stream per host however many clients watch /ws/hosts/{id}/events: upstream_opens counts them.
            event_feeds = events.ListFeeds().Select(f => new { host_id = f.HostId, open = f.Open, subscribers = f.Subscribers, upstream_opens = f.UpstreamOpens }),
        });
    }

    private sealed record HostReadiness(string Host, bool Answers, string? Error);
}
