using Docker.DotNet;
using LogsMigration.Docker.Services;
using LogsMigration.Docker.Sources;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Stacks;

/// <summary>What the stack source found: which stack, of which kind.</summary>
public sealed record FoundStack(StackId Id);

/// <summary>
/// Stack logs (<c>/ws/stacks/{stack_name}/logs</c>): every Swarm service labelled
/// <c>com.docker.stack.namespace=&lt;name&gt;</c> on a manager, or, when the host has no Swarm stack of that name, every
/// plain container labelled <c>com.docker.compose.project=&lt;name&gt;</c>; all their replicas merged in timestamp order
/// within <see cref="DockerOptions.ServiceMergeWindow"/>, members joining and leaving while streaming
/// (<see cref="StackRead"/>). The resolved id names the kind (<see cref="StackId"/>), which is how <c>connected</c>
/// tells the client which answered. A host that is not a manager and has no such Compose project is NotSupported in
/// the daemon's words, as for a service; a name that is neither is NotFound.
/// </summary>
public sealed class StackLogSource(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time, ILogger<StackLogSource> logger)
    : DockerLogSource<FoundStack>(hosts, options.Value, time, logger)
{
    public override LogSourceType SourceType => LogSourceType.Stack;

    /// <summary>Docker counts <c>tail</c> per task of each service, or per container: per replica.</summary>
    public override string? TailPartitionKey => StackLabels.ReplicaIdMetadata;

    protected override string ResourceNoun => "stack";

    /// <summary>A stack's resolved id names which kind answered (a Swarm stack, or a Compose project of that name).</summary>
    public override IEnumerable<KeyValuePair<string, string>> ConnectedFields(StreamKey key) =>
        StackId.TryParse(key.ResourceId, out var stack) ? [new("stack_kind", stack.Kind.ToWire())] : [];

    protected override bool IsWellFormed(string idOrName) =>
        (DockerResourceName.IsValid(idOrName) && !idOrName.StartsWith('/')) || StackId.TryParse(idOrName, out _);

    protected override async Task<FoundStack> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken)
    {
        if (StackId.TryParse(idOrName, out var id))
        {
            var exists = id.Kind == StackKind.Swarm
                ? (await SwarmStackMembership.ListServicesAsync(client, hostId, id.Name, cancellationToken).ConfigureAwait(false)).Count > 0
                : (await ComposeProjectMembership.ListContainersAsync(client, hostId, id.Name, cancellationToken).ConfigureAwait(false)).Count > 0;
            return exists ? new FoundStack(id) : throw NoSuchStack(id.Name);
        }
        LogSourceException? notManager = null;
        try
        {
            if ((await SwarmStackMembership.ListServicesAsync(client, hostId, idOrName, cancellationToken).ConfigureAwait(false)).Count > 0)
                return new FoundStack(new StackId(StackKind.Swarm, idOrName));
        }
        catch (LogSourceException ex) when (ex.Kind == LogSourceErrorKind.NotSupported)
        {
            // Not a manager: no Swarm stacks here, but a Compose project may be.
            notManager = ex;
        }
        if ((await ComposeProjectMembership.ListContainersAsync(client, hostId, idOrName, cancellationToken).ConfigureAwait(false)).Count > 0)
            return new FoundStack(new StackId(StackKind.Compose, idOrName));
        throw notManager is null
            ? NoSuchStack(idOrName)
            : new LogSourceException(LogSourceErrorKind.NotSupported, $"{notManager.Message} (and no Compose project '{idOrName}' is on Docker host '{hostId}')", notManager);
    }

    protected override string IdOf(FoundStack resource) => resource.Id.ToString();

    protected override IAsyncEnumerable<SourceRecord> ReadResourceAsync(DockerClient client, StreamKey key, FoundStack resource, SourceStart start, CancellationToken cancellationToken)
    {
        StackMembership members = resource.Id.Kind == StackKind.Swarm
            ? new SwarmStackMembership(client, key, resource.Id.Name, Options, Time, Logger)
            : new ComposeProjectMembership(client, key, resource.Id.Name, Options, Time, Logger);
        return MergedRead.ReadAsync(new StackRead(members, Options.Stacks, Options.RestartSeamMargin, Time, Logger).ReadAsync(key, start, cancellationToken),
            Options.ServiceMergeWindow, Options.ServiceMergeMaxHeldLines, Time, cancellationToken);
    }

    private static LogSourceException NoSuchStack(string name) => new(LogSourceErrorKind.NotFound, $"No such stack: {name}");
}
