using System.Collections.Frozen;
using Docker.DotNet;
using Docker.DotNet.X509;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker;

/// <summary>
/// One <see cref="DockerClient"/> per configured host, built on first use (a host that is down costs nothing
/// until someone asks for it) and disposed at shutdown. A client serves many concurrent streams, so every
/// stream of a host shares it.
/// </summary>
public sealed class DockerHosts : IDisposable
{
    private readonly FrozenDictionary<string, Lazy<DockerClient>> _clients;
    private readonly FrozenDictionary<string, DockerHostOptions> _hosts;

    public DockerHosts(IOptions<DockerOptions> options)
    {
        var value = options.Value;
        DefaultHostId = value.DefaultHost;
        _hosts = value.Hosts.ToFrozenDictionary(StringComparer.Ordinal);
        _clients = _hosts.ToFrozenDictionary(
            pair => pair.Key,
            pair => new Lazy<DockerClient>(() => Build(pair.Value), LazyThreadSafetyMode.ExecutionAndPublication),
            StringComparer.Ordinal);
    }

    /// <summary>The host used when a client names none.</summary>
    public string DefaultHostId { get; }

    /// <summary>Every configured host id, for the API's host checks and listings.</summary>
    public IReadOnlyCollection<string> HostIds => _hosts.Keys;

    /// <summary>Whether a client's <c>host_id</c> names a configured host (ids are case-sensitive, as stream keys are).</summary>
    public bool Contains(string hostId) => _hosts.ContainsKey(hostId);

    /// <summary>The shared client of a host. Throws <see cref="LogSourceException"/> NotFound for an unknown id.</summary>
    public DockerClient GetClient(string hostId) =>
        _clients.TryGetValue(hostId, out var client)
            ? client.Value
            : throw new LogSourceException(LogSourceErrorKind.NotFound, $"Unknown Docker host '{hostId}'.");

    /// <summary>
    /// Checks that the host's daemon answers (readiness, and a clear error before a stream is opened).
    /// Throws <see cref="LogSourceException"/> Unavailable when it does not.
    /// </summary>
    public Task PingAsync(string hostId, CancellationToken cancellationToken)
    {
        var client = GetClient(hostId);
        return DockerErrors.GuardAsync(
            hostId,
            ex => new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host '{hostId}' answered the ping with an error: {DockerErrors.DaemonMessage(ex)}", ex),
            async () =>
            {
                await client.System.PingAsync(cancellationToken).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated)
                client.Value.Dispose();
        }
    }

    private static DockerClient Build(DockerHostOptions host)
    {
        var builder = new DockerClientBuilder().WithEndpoint(new Uri(host.Endpoint));
        if (host.ApiVersion is { } apiVersion)
            builder = builder.WithApiVersion(System.Version.Parse(apiVersion));
        if (host.TlsCertificateDirectory is { } directory)
            builder = builder.WithAuthProvider(DockerTlsCertificates.LoadFromDirectory(directory).CreateCredentials());
        return builder.Build();
    }
}
