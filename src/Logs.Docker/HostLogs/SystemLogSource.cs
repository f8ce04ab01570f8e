using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// What the host and daemon sources share: the route's <c>{host_id}</c> names the host whose log is read (and is the
/// stream's resource id, so two hosts' logs are two streams), the log is located when a client asks (an absent log is
/// <c>not_available</c> before <c>connected</c>, never a wait on nothing), and read by <see cref="HostLogReader"/>.
/// A host's log does not end like a container does: a followed read goes on until the last viewer leaves.
/// </summary>
public abstract class SystemLogSource : ILogSource
{
    private readonly HostLogKind _kind;
    private readonly HostLogLocator _locator;
    private readonly HostLogReader _reader;

    protected SystemLogSource(HostLogKind kind, HostLogLocator locator, HostLogReader reader)
    {
        _kind = kind;
        _locator = locator;
        _reader = reader;
    }

    public abstract LogSourceType SourceType { get; }

    public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
    {
        await _locator.LocateAsync(resource, _kind, cancellationToken).ConfigureAwait(false);
        return resource;
    }

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var location = await _locator.LocateAsync(key.ResourceId, _kind, cancellationToken).ConfigureAwait(false);
        await foreach (var record in _reader.ReadAsync(key.ResourceId, location, _kind, start, cancellationToken).ConfigureAwait(false))
            yield return record;
    }
}
