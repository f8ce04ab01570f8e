using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Services;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Stacks;

/// <summary>
/// A Swarm stack: the services labelled <c>com.docker.stack.namespace=&lt;name&gt;</c>, each read as the service source
/// reads one (<see cref="ServiceLogRead"/>), each task's lines also carrying its task id as the stack's partition.
/// Service events carry no labels, so any service's create, update or remove makes the stack list its services again.
/// </summary>
internal sealed class SwarmStackMembership(DockerClient client, StreamKey key, string name, DockerOptions options, TimeProvider time, ILogger logger) : DockerStackMembership(client, key)
{
    private static readonly Action<Dictionary<string, string>> AddPartition = metadata =>
    {
        if (metadata.TryGetValue(ServiceTaskDirectory.TaskIdMetadata, out var task))
            metadata[StackLabels.ReplicaIdMetadata] = task;
    };

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public override bool MembersRunAgain => false;

    public override async Task<IReadOnlyList<StackMember>> ListAsync(CancellationToken cancellationToken)
    {
        var services = await ListServicesAsync(Client, Key.HostId, name, cancellationToken).ConfigureAwait(false);
        foreach (var service in services)
            _names[service.ID] = service.Spec?.Name ?? service.ID;
        return [.. services.Select(s => new StackMember(s.ID, HasRun: true, Running: true))];
    }

    public override string Describe(string id) => $"service {_names.GetValueOrDefault(id, id)}";

    /// <summary>The service's tasks meant to run (its replicas' ids); a task replaced or shut down is not among them.</summary>
    public override async Task<IReadOnlySet<string>?> RunningReplicasAsync(string id, CancellationToken cancellationToken)
    {
        var parameters = new TasksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["service"] = new Dictionary<string, bool> { [id] = true },
                ["desired-state"] = new Dictionary<string, bool> { ["running"] = true },
            },
        };
        var tasks = await DockerErrors.GuardAsync(Key.HostId, ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
            () => Client.Tasks.ListAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
        return tasks.Where(t => t.ID is not null).Select(t => t.ID).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The stack's services; NotSupported in the daemon's words on a host that is not a manager.</summary>
    public static async Task<IList<SwarmService>> ListServicesAsync(DockerClient client, string hostId, string name, CancellationToken cancellationToken)
    {
        var parameters = new ServiceListParameters { Filters = StackLabels.Filter(StackLabels.SwarmNamespace, name) };
        var services = await DockerErrors.GuardAsync(hostId, ex => SwarmServiceApi.ApiError(ex, name),
            () => client.Swarm.ListServicesAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
        return [.. services];
    }

    protected override ContainerEventsParameters Events(string? since) => new()
    {
        Since = since,
        Filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["type"] = new Dictionary<string, bool> { ["service"] = true },
            ["event"] = new Dictionary<string, bool> { ["create"] = true, ["update"] = true, ["remove"] = true },
        },
    };

    public override async IAsyncEnumerable<SourceRecord> ReadAsync(string id, SourceStart start, bool rejoining, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var service = await SwarmServiceApi.TryInspectAsync(Client, Key.HostId, id, cancellationToken).ConfigureAwait(false);
        if (service is null)
            yield break;
        var serviceKey = new StreamKey(Key.HostId, LogSourceType.Service, service.ID, Key.Streams);
        await foreach (var record in new ServiceLogRead(Client, options, time, logger).ReadAsync(serviceKey, service, start, AddPartition, cancellationToken).ConfigureAwait(false))
            yield return record;
    }
}
