using System.Security.Claims;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Operations;
using LogsMigration.Pipeline.Model;
using Microsoft.FeatureManagement;

namespace LogsMigration.Api.Rollout;

public static class RolloutApi
{
    /// <summary>
    /// Admin-only rollout control: <c>GET /admin/flags</c> (effective state per endpoint),
    /// <c>PUT /admin/flags/{endpoint}</c> with <c>{"unified": true|false|null}</c> (a run-time override; null returns
    /// to the configuration), <c>POST /admin/flags/{endpoint}/drain</c> with optional <c>{"window_seconds": n}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapRolloutApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapAdminGroup();
        admin.MapGet("/flags", ListAsync);
        admin.MapPut("/flags/{endpoint}", Set);
        admin.MapPost("/flags/{endpoint}/drain", DrainAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpRequest request, PathSelector selector, SessionRegistry sessions, IVariantFeatureManager features)
    {
        var rows = new List<object>();
        foreach (var (sourceType, flag) in PathSelector.Flags)
        {
            rows.Add(new
            {
                endpoint = sourceType.ToWire(),
                flag,
                configured = await features.IsEnabledAsync(flag, request.HttpContext.RequestAborted),
                @override = selector.GetOverride(sourceType),
                sessions = new { unified = sessions.Count(sourceType, LogPath.Unified), legacy = sessions.Count(sourceType, LogPath.Legacy) },
            });
        }
        // The kinds without a flag exist only on the unified path: said here, so nobody looks for their flag.
        var unifiedOnly = Enum.GetValues<LogSourceType>().Where(t => !PathSelector.Flags.ContainsKey(t)).Select(t => t.ToWire());
        return Results.Ok(new { flags = rows, unified_only = unifiedOnly });
    }

    private static IResult Set(string endpoint, FlagChange change, ClaimsPrincipal user, PathSelector selector)
    {
        if (!TryEndpoint(endpoint, out var sourceType))
            return UnknownEndpoint(endpoint);
        selector.SetOverride(sourceType, change.Unified, user.UserId()!);
        return Results.Ok(new { endpoint = sourceType.ToWire(), @override = selector.GetOverride(sourceType) });
    }

    private static async Task<IResult> DrainAsync(string endpoint, HttpRequest request, ClaimsPrincipal user, SessionRegistry sessions, DrainRequest? drain)
    {
        if (!TryEndpoint(endpoint, out var sourceType))
            return UnknownEndpoint(endpoint);
        if (drain?.WindowSeconds is < 0 or > 3600)
            return Results.BadRequest(new { error = "invalid_parameter", message = "window_seconds must be between 0 and 3600." });
        var window = drain?.WindowSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var count = await sessions.DrainAsync(sourceType, window, user.UserId()!, request.HttpContext.RequestAborted);
        return Results.Accepted(value: new { endpoint = sourceType.ToWire(), sessions = count });
    }

    private static bool TryEndpoint(string endpoint, out LogSourceType sourceType)
    {
        foreach (var type in PathSelector.Flags.Keys)
        {
            if (string.Equals(type.ToWire(), endpoint, StringComparison.OrdinalIgnoreCase))
            {
                sourceType = type;
                return true;
            }
        }
        sourceType = default;
        return false;
    }

    private static IResult UnknownEndpoint(string endpoint) =>
        Results.NotFound(new { error = "not_found", message = $"'{endpoint}' has no legacy path (host, daemon and stack logs exist only on the unified path); endpoints with a flag: container, service." });

    /// <summary>Body of <c>PUT /admin/flags/{endpoint}</c>.</summary>
    public sealed record FlagChange(bool? Unified);

    /// <summary>Body of <c>POST /admin/flags/{endpoint}/drain</c>.</summary>
    public sealed record DrainRequest(double? WindowSeconds);
}
