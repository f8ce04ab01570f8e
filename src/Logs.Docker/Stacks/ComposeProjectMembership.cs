using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Containers;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Stacks;

/// <summary>
/// A Compose project without Swarm: the plain containers labelled <c>com.docker.compose.project=&lt;name&gt;</c>, each read
/// as the container source reads one (<see cref="ContainerLogRead"/>, across its restarts within the grace). Container
/// events carry labels, so only this project's starts and removals make it list its containers again; a container
/// started after its read ended is read again from its new run.
/// </summary>
internal sealed class ComposeProjectMembership(DockerClient client, StreamKey key, string name, DockerOptions options, TimeProvider time, ILogger logger) : DockerStackMembership(client, key)
{
    private const string Running = "running";

    /// <summary>The one state of a container that never ran, so has no lines yet (its start event brings it in).</summary>
    private const string Created = "created";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public override bool MembersRunAgain => true;

    /// <summary>
    /// Every container that ran, exited ones too: one that started and exited between two listings (a short-lived job)
    /// still has its lines in Docker, and they are read.
    /// </summary>
    public override async Task<IReadOnlyList<StackMember>> ListAsync(CancellationToken cancellationToken)
    {
        var containers = await ListContainersAsync(Client, Key.HostId, name, cancellationToken).ConfigureAwait(false);
        foreach (var container in containers)
            _names[container.ID] = container.Names?.FirstOrDefault()?.TrimStart('/') ?? container.ID;
        return [.. containers.Select(c => new StackMember(c.ID, HasRun: c.State != Created, Running: c.State == Running))];
    }

    public override string Describe(string id) => $"container {_names.GetValueOrDefault(id, id)}";

    /// <summary>The container's start time: a new one is a new run.</summary>
    public override async Task<string?> CurrentRunAsync(string id, CancellationToken cancellationToken) =>
        (await ContainerApi.TryInspectAsync(Client, Key.HostId, id, cancellationToken).ConfigureAwait(false))?.State?.StartedAt;

    /// <summary>The project's containers, running or not.</summary>
    public static async Task<IList<ContainerListResponse>> ListContainersAsync(DockerClient client, string hostId, string name, CancellationToken cancellationToken)
    {
        var parameters = new ContainersListParameters { All = true, Filters = StackLabels.Filter(StackLabels.ComposeProject, name) };
        return await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
            () => client.Containers.ListContainersAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    protected override ContainerEventsParameters Events(string? since) => new()
    {
        Since = since,
        Filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["type"] = new Dictionary<string, bool> { ["container"] = true },
            ["event"] = new Dictionary<string, bool> { ["start"] = true, ["destroy"] = true },
            ["label"] = new Dictionary<string, bool> { [$"{StackLabels.ComposeProject}={name}"] = true },
        },
    };

    public override async IAsyncEnumerable<SourceRecord> ReadAsync(string id, SourceStart start, bool rejoining, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var container = await ContainerApi.TryInspectAsync(Client, Key.HostId, id, cancellationToken).ConfigureAwait(false);
        if (container is null)
            yield break;
        var containerKey = new StreamKey(Key.HostId, LogSourceType.Container, container.ID, Key.Streams);
        var read = rejoining ? ContainerLogRead.FromPreviousRun(container, start) : start;
        await foreach (var record in new ContainerLogRead(Client, options, time, logger)
            .ReadAsync(containerKey, container, read, Metadata(container), endsWhenGone: true, cancellationToken).ConfigureAwait(false))
            yield return record;
    }

    /// <summary>The container's own metadata, its Compose service and number, and its id as the stack's partition.</summary>
    private static FrozenDictionary<string, string> Metadata(ContainerInspectResponse container)
    {
        var metadata = ContainerLogSource.MetadataOf(container);
        var labels = container.Config?.Labels;
        if (labels is not null && labels.TryGetValue(StackLabels.ComposeService, out var service) && service.Length > 0)
            metadata["service_name"] = service;
        if (labels is not null && labels.TryGetValue(StackLabels.ComposeContainerNumber, out var number) && number.Length > 0)
            metadata["replica"] = number;
        metadata[StackLabels.ReplicaIdMetadata] = container.ID;
        return metadata.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
