using System.Collections.Concurrent;
using LogsMigration.Pipeline.Model;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;

namespace LogsMigration.Api.Rollout;

/// <summary>
/// Decides, once per new connection, which path serves it. Container and service logs each have a flag in the
/// <c>FeatureManagement</c> configuration section (reloaded without a restart); a run-time override set through
/// the admin API wins over it. Percentage rollouts use the library's targeting with the token's <c>sub</c> as the
/// user id, so one user lands on the same path on every reconnect. Host, daemon and stack logs exist only on
/// the unified path.
/// </summary>
public sealed partial class PathSelector(IVariantFeatureManager features, ILogger<PathSelector> logger)
{
    public const string ContainerFlag = "UnifiedContainerLogs";
    public const string ServiceFlag = "UnifiedServiceLogs";

    private readonly ConcurrentDictionary<LogSourceType, bool> _overrides = new();

    /// <summary>The endpoints that have a legacy implementation, with their flags.</summary>
    public static IReadOnlyDictionary<LogSourceType, string> Flags { get; } = new Dictionary<LogSourceType, string>
    {
        [LogSourceType.Container] = ContainerFlag,
        [LogSourceType.Service] = ServiceFlag,
    };

    public async ValueTask<LogPath> SelectAsync(LogSourceType sourceType, string userId, CancellationToken cancellationToken)
    {
        if (!Flags.TryGetValue(sourceType, out var flag))
            return LogPath.Unified;
        if (_overrides.TryGetValue(sourceType, out var forced))
            return forced ? LogPath.Unified : LogPath.Legacy;
        var enabled = await features.IsEnabledAsync(flag, new TargetingContext { UserId = userId }, cancellationToken);
        return enabled ? LogPath.Unified : LogPath.Legacy;
    }

    /// <summary>The run-time override of an endpoint: true forces unified, false forces legacy, null follows the configuration.</summary>
    public bool? GetOverride(LogSourceType sourceType) => _overrides.TryGetValue(sourceType, out var value) ? value : null;

    public void SetOverride(LogSourceType sourceType, bool? unified, string changedBy)
    {
        if (unified is { } value)
            _overrides[sourceType] = value;
        else
            _overrides.TryRemove(sourceType, out _);
        LogOverrideChanged(logger, sourceType.ToWire(), unified?.ToString() ?? "none (configuration decides)", changedBy);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout override for {Endpoint} logs set to {Unified} by user {ChangedBy}.")]
    private static partial void LogOverrideChanged(ILogger logger, string endpoint, string unified, string changedBy);
}
