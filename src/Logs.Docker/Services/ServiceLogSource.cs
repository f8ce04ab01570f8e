using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Sources;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Swarm service logs (<c>/services/{id}/logs</c>), which only a manager serves: the service's read
/// (<see cref="ServiceLogRead"/>), its replicas merged in timestamp order within
/// <see cref="DockerOptions.ServiceMergeWindow"/>. A manager whose control plane is recovering (no leader, locked) is
/// <see cref="LogSourceErrorKind.Unavailable"/>, retried like a host that is down; a host that is not a manager is
/// <see cref="LogSourceErrorKind.NotSupported"/> in the daemon's words (<see cref="SwarmServiceApi.ApiError"/>).
/// </summary>
public sealed class ServiceLogSource(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time, ILogger<ServiceLogSource> logger)
    : DockerLogSource<SwarmService>(hosts, options.Value, time, logger)
{
    public override LogSourceType SourceType => LogSourceType.Service;

    /// <summary>Docker counts a service's <c>tail</c> per task.</summary>
    public override string? TailPartitionKey => ServiceTaskDirectory.TaskIdMetadata;

    protected override string ResourceNoun => "service";

    protected override Task<SwarmService> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        SwarmServiceApi.InspectAsync(client, hostId, idOrName, cancellationToken);

    protected override string IdOf(SwarmService resource) => resource.ID;

    protected override IAsyncEnumerable<SourceRecord> ReadResourceAsync(DockerClient client, StreamKey key, SwarmService resource, SourceStart start, CancellationToken cancellationToken) =>
        MergedRead.ReadAsync(new ServiceLogRead(client, Options, Time, Logger).ReadAsync(key, resource, start, decorate: null, cancellationToken),
            Options.ServiceMergeWindow, Options.ServiceMergeMaxHeldLines, Time, cancellationToken);
}
