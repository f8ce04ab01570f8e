using System.Runtime.CompilerServices;
using Docker.DotNet;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Sources;

/// <summary>
/// The shape every log source of the Docker API shares, so a new one is only what is particular to it: resolving what
/// the user typed is finding the resource (<see cref="InspectAsync"/>) and taking its canonical id
/// (<see cref="IdOf"/>); a read finds the resource again and reads it (<see cref="ReadResourceAsync"/>). A first read
/// of a resource that does not exist fails with NotFound; a continuing read (<see cref="ContinuedRead"/>) of one removed
/// meanwhile simply ends, as it would have had the stream stayed open.
/// </summary>
/// <typeparam name="TResource">What the inspect returns: a container, a service, a stack's members.</typeparam>
public abstract partial class DockerLogSource<TResource> : ILogSource where TResource : class
{
    protected DockerLogSource(DockerHosts hosts, DockerOptions options, TimeProvider time, ILogger logger)
    {
        Hosts = hosts;
        Options = options;
        Time = time;
        Logger = logger;
    }

    public abstract LogSourceType SourceType { get; }

    /// <inheritdoc cref="ILogSource.TailPartitionKey"/>
    public virtual string? TailPartitionKey => null;

    /// <inheritdoc cref="ILogSource.ConnectedFields"/>
    public virtual IEnumerable<KeyValuePair<string, string>> ConnectedFields(StreamKey key) => [];

    protected DockerHosts Hosts { get; }

    protected DockerOptions Options { get; }

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    /// <summary>The resource's name in messages ("No such container: x").</summary>
    protected abstract string ResourceNoun { get; }

    /// <summary>The resource named by a well-formed id or name; throws <see cref="LogSourceException"/> (NotFound and the like).</summary>
    protected abstract Task<TResource> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken);

    /// <summary>The canonical id of the resource, which the stream key carries.</summary>
    protected abstract string IdOf(TResource resource);

    /// <summary>One upstream read of a resource that was just found.</summary>
    protected abstract IAsyncEnumerable<SourceRecord> ReadResourceAsync(DockerClient client, StreamKey key, TResource resource, SourceStart start, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a user's id or name (or a canonical id) can name a resource at all. The client library puts it into the
    /// request path unescaped, so anything else is refused before it reaches the daemon.
    /// </summary>
    protected virtual bool IsWellFormed(string idOrName) => DockerResourceName.IsValid(idOrName);

    public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
    {
        var client = Hosts.GetClient(hostId);
        return IdOf(await FindAsync(client, hostId, resource, cancellationToken).ConfigureAwait(false));
    }

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = Hosts.GetClient(key.HostId);
        var resource = start.Continues()
            ? await TryFindAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false)
            : await FindAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false);
        if (resource is null)
        {
            LogResourceGone(Logger, ResourceNoun, key);
            yield break;
        }
        await foreach (var record in ReadResourceAsync(client, key, resource, start, cancellationToken).ConfigureAwait(false))
            yield return record;
    }

    /// <summary>The resource; throws NotFound for a malformed or unknown one.</summary>
    protected Task<TResource> FindAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        IsWellFormed(idOrName)
            ? InspectAsync(client, hostId, idOrName, cancellationToken)
            : Task.FromException<TResource>(new LogSourceException(LogSourceErrorKind.NotFound, $"No such {ResourceNoun}: {idOrName}"));

    /// <summary>The resource, or null when it does not exist (any more).</summary>
    protected Task<TResource?> TryFindAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        MissingResource.OrNullAsync(() => FindAsync(client, hostId, idOrName, cancellationToken));

    [LoggerMessage(Level = LogLevel.Information, Message = "The {Resource} of {Key} no longer exists; its log stream ends.")]
    private static partial void LogResourceGone(ILogger logger, string resource, StreamKey key);
}
