using Docker.DotNet.Models;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Events;

/// <summary>
/// Docker's <c>GET /events</c> for containers and services, reduced to what changes what can be watched: lifecycle
/// actions only (<c>exec_*</c>, <c>attach</c>, <c>resize</c>, <c>top</c> and the like are dropped).
/// </summary>
internal sealed class DockerHostEventSource(DockerHosts hosts) : IHostEventSource
{
    private static readonly Dictionary<string, string?> ContainerStates = new(StringComparer.Ordinal)
    {
        ["create"] = "created",
        ["start"] = "running",
        ["restart"] = "running",
        ["unpause"] = "running",
        ["pause"] = "paused",
        ["die"] = "exited",
        ["stop"] = "exited",
        ["kill"] = null,
        ["oom"] = null,
        ["rename"] = null,
        ["destroy"] = "removed",
    };

    private static readonly HashSet<string> ServiceActions = new(StringComparer.Ordinal) { "create", "update", "remove" };

    // Docker's health checks report as "health_status: healthy": kept, with the status after the colon dropped from the action.
    private const string HealthStatusAction = "health_status";

    public async Task WatchAsync(string hostId, DateTimeOffset since, Action<HostEvent> onEvent, CancellationToken cancellationToken)
    {
        var client = hosts.GetClient(hostId);
        var parameters = new ContainerEventsParameters
        {
            Since = LogTimestamp.FromDateTimeOffset(since).ToUnixSecondsString(),
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { [HostEvent.ContainerKind] = true, [HostEvent.ServiceKind] = true },
            },
        };
        var progress = new SyncProgress<Message>(message =>
        {
            if (ToHostEvent(message) is { } hostEvent)
                onEvent(hostEvent);
        });
        await DockerErrors.GuardAsync(hostId,
            ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
            async () =>
            {
                await client.System.MonitorEventsAsync(parameters, progress, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        throw new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host '{hostId}' closed its events stream.");
    }

    internal static HostEvent? ToHostEvent(Message message)
    {
        var id = message.Actor?.ID;
        if (string.IsNullOrEmpty(id) || message.Action is not { Length: > 0 } action)
            return null;
        string? state = null;
        switch (message.Type)
        {
            case HostEvent.ContainerKind:
                if (action.StartsWith(HealthStatusAction, StringComparison.Ordinal))
                    action = HealthStatusAction;
                else if (!ContainerStates.TryGetValue(action, out state))
                    return null;
                break;
            case HostEvent.ServiceKind:
                if (!ServiceActions.Contains(action))
                    return null;
                break;
            default:
                return null;
        }
        string? name = null;
        message.Actor?.Attributes?.TryGetValue("name", out name);
        var timestamp = message.TimeNano is > 0 and var nanos
            ? DateTimeOffset.UnixEpoch.AddTicks(nanos / 100)
            : DateTimeOffset.UtcNow;
        return new HostEvent(message.Type, action, id, name, state, timestamp);
    }
}
