using System.Collections.Frozen;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Sources;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Containers;

/// <summary>
/// Container logs (<c>/containers/{id}/logs</c>), read across the container's restarts by <see cref="ContainerLogRead"/>,
/// so the clients watching a container that <c>docker restart</c> or a restart policy runs again stay connected.
/// </summary>
public sealed class ContainerLogSource(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time, ILogger<ContainerLogSource> logger)
    : DockerLogSource<ContainerInspectResponse>(hosts, options.Value, time, logger)
{
    public const string NameMetadata = "container_name";
    public const string IdMetadata = "container_id";

    private const int ShortIdLength = 12;

    public override LogSourceType SourceType => LogSourceType.Container;

    protected override string ResourceNoun => "container";

    protected override Task<ContainerInspectResponse> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        ContainerApi.InspectAsync(client, hostId, idOrName, cancellationToken);

    protected override string IdOf(ContainerInspectResponse resource) => resource.ID;

    protected override IAsyncEnumerable<SourceRecord> ReadResourceAsync(DockerClient client, StreamKey key, ContainerInspectResponse resource, SourceStart start, CancellationToken cancellationToken) =>
        new ContainerLogRead(client, Options, Time, Logger).ReadAsync(key, resource, start, Metadata(resource), endsWhenGone: start.Continues(), cancellationToken);

    /// <summary>Who wrote a container's lines: its name and short id (plus whatever a caller adds, a stack's labels).</summary>
    internal static Dictionary<string, string> MetadataOf(ContainerInspectResponse container) => new(StringComparer.Ordinal)
    {
        [NameMetadata] = container.Name?.TrimStart('/') ?? "",
        [IdMetadata] = container.ID.Length > ShortIdLength ? container.ID[..ShortIdLength] : container.ID,
    };

    private static FrozenDictionary<string, string> Metadata(ContainerInspectResponse container) =>
        MetadataOf(container).ToFrozenDictionary(StringComparer.Ordinal);
}
