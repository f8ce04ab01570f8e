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
    /// <c>/healthz</c>: the process is alive. <c>/readyz</c>: this instance takes viewers (started, not draining); the
    /// Docker hosts' pings are reported in its body but never decide it (see <see cref="ReadyAsync"/>).
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

    /// <summary>
    /// Whether this instance takes new viewers: started, and not draining. It is what a load balancer routes by, so it
    /// says nothing about the Docker hosts: every instance reaches the same hosts, so a host that does not answer
    /// would fail every instance's check at once, and HAProxy would mark them all down and cut every viewer
    /// (<c>on-marked-down shutdown-sessions</c>), those of the hosts that answer too. That host's viewers are told by
    /// their own streams (<c>upstream_retrying</c>). The hosts' pings are in the body, for people and monitors.
    /// </summary>
    private static async Task<IResult> ReadyAsync(DockerHosts hosts, IHostApplicationLifetime lifetime, Microsoft.Extensions.Options.IOptions<StreamingOptions> streaming,
        CancellationToken cancellationToken)
    {
        var instance = streaming.Value.EffectiveInstanceId;
        // Draining (SIGTERM): no new viewers, but the open ones stay until the drain moves them. 404 is what HAProxy's
        // `http-check disable-on-404` reads as exactly that; any readiness probe reads it as not ready.
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return Results.Json(new { status = "draining", instance }, statusCode: StatusCodes.Status404NotFound);
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
            return Results.Json(new { status = "starting", instance }, statusCode: StatusCodes.Status503ServiceUnavailable);
        var checks = await Readiness.GetValue(hosts, static h => new ReadinessProbe(h)).CurrentAsync(cancellationToken);
        return Results.Json(new { status = "ready", instance, all_hosts_answer = checks.All(c => c.Answers == true), hosts = checks });
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

    /// <summary>One host's last ping; <see cref="Answers"/> is null before its first ping has ended.</summary>
    private sealed record HostReadiness(string Host, bool? Answers, string? Error);

    /// <summary>One probe per set of Docker hosts (tests run several services in one process).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DockerHosts, ReadinessProbe> Readiness = new();

    /// <summary>
    /// The hosts' pings for the readiness body, cheap to ask: a load balancer checks every instance every few seconds,
    /// and on a loaded machine a ping of every Docker host per check took longer than HAProxy's check timeout. A result
    /// younger than <see cref="Fresh"/> is answered as is; otherwise one refresh starts (concurrent checks share it)
    /// and is answered if it ends within <see cref="SlowRound"/> (a stopped host refuses at once); else the last known
    /// result (or "not pinged yet") is, and the round goes on in the background. A check never waits longer than that.
    /// </summary>
    private sealed class ReadinessProbe(DockerHosts hosts)
    {
        private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan SlowRound = TimeSpan.FromMilliseconds(500);
        private readonly Lock _gate = new();
        private HostReadiness[]? _last;
        private long _lastAt;
        private Task<HostReadiness[]>? _refresh;

        public async Task<HostReadiness[]> CurrentAsync(CancellationToken cancellationToken)
        {
            Task<HostReadiness[]> refresh;
            HostReadiness[]? stale;
            lock (_gate)
            {
                var age = _last is null ? TimeSpan.MaxValue : System.Diagnostics.Stopwatch.GetElapsedTime(_lastAt);
                if (age < Fresh)
                    return _last!;
                // Not the caller's token: a check that gives up must not cancel the round the others wait for.
                refresh = _refresh ??= Task.Run(RefreshAsync, CancellationToken.None);
                stale = _last;
            }
            try
            {
                // A prompt answer (a stopped host refuses at once) is reported now; a slow round answers what was
                // known (or nothing yet): the readiness check it serves must stay quick whatever the hosts do.
                return await refresh.WaitAsync(SlowRound, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return stale ?? [.. hosts.HostIds.Order(StringComparer.Ordinal).Select(id => new HostReadiness(id, null, "not pinged yet"))];
            }
        }

        private async Task<HostReadiness[]> RefreshAsync()
        {
            try
            {
                var checks = await Task.WhenAll(hosts.HostIds.Select(PingAsync)).ConfigureAwait(false);
                lock (_gate)
                {
                    _last = checks;
                    _lastAt = System.Diagnostics.Stopwatch.GetTimestamp();
                }
                return checks;
            }
            finally
            {
                lock (_gate)
                    _refresh = null;
            }
        }

        private async Task<HostReadiness> PingAsync(string id)
        {
            using var timeout = new CancellationTokenSource(ReadinessPingTimeout);
            try
            {
                await hosts.PingAsync(id, timeout.Token).ConfigureAwait(false);
                return new HostReadiness(id, true, null);
            }
            catch (Exception ex)
            {
                return new HostReadiness(id, false, ex is OperationCanceledException ? "no answer within 3 s" : ex.Message);
            }
        }
    }
}
