using LogsMigration.Api.Auth;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Api.Operations;

public static class OperationsApi
{
    private static readonly TimeSpan ReadinessPingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <c>/healthz</c>: the process is alive. <c>/readyz</c>: every configured Docker host answers (503 otherwise).
    /// <c>/admin/streams</c>: the live shared streams, for admins only.
    /// </summary>
    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "alive" }));
        app.MapGet("/readyz", ReadyAsync);
        app.MapGet("/admin/streams", ListStreamsAsync);
        return app;
    }

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

    private static async Task<IResult> ListStreamsAsync(HttpRequest request, AccessTokenValidator tokens, LogStreamManager streams, SessionLimiter sessions, ResolveCache resolver,
        Microsoft.Extensions.Options.IOptions<StreamingOptions> streaming)
    {
        var (_, refused) = await AuthorizeAdminAsync(request, tokens);
        if (refused is not null)
            return refused;
        var budget = streams.Budget;
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
            streams = streams.ListStreams().Select(s => new
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
        });
    }

    /// <summary>Admin endpoints take the token from <c>Authorization: Bearer</c> (or <c>token</c>); 401 without a valid one, 403 below admin.</summary>
    internal static async Task<(AuthResult Auth, IResult? Refused)> AuthorizeAdminAsync(HttpRequest request, AccessTokenValidator tokens)
    {
        var auth = await tokens.ValidateAsync(AdminToken(request), UserRole.Admin);
        if (auth.Succeeded)
            return (auth, null);
        return (auth, Results.Json(new { error = auth.ErrorCode, message = auth.Reason },
            statusCode: auth.ErrorCode == ErrorCodes.Forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized));
    }

    private static string? AdminToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return header["Bearer ".Length..].Trim();
        return request.Query["token"].ToString() is { Length: > 0 } query ? query : null;
    }

    private sealed record HostReadiness(string Host, bool Answers, string? Error);
}
