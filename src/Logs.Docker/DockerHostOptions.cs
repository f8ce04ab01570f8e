namespace LogsMigration.Docker;

/// <summary>How to reach one Docker host.</summary>
public sealed class DockerHostOptions
{
    /// <summary>
    /// The daemon's address: <c>unix:///var/run/docker.sock</c>, <c>tcp://host:2376</c>, <c>http://…</c> or <c>https://…</c>.
    /// </summary>
    public string Endpoint { get; set; } = "";

    /// <summary>
    /// A folder holding <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c> for a daemon that requires TLS client
    /// certificates (the layout of <c>DOCKER_CERT_PATH</c>). Null: no client certificate.
    /// </summary>
    public string? TlsCertificateDirectory { get; set; }

    /// <summary>
    /// Pins the Engine API version (for example <c>1.41</c>, the oldest this service supports). Null: no pin, so the
    /// daemon answers with its newest version; the client library does not negotiate, and a pin newer than the
    /// daemon's is refused by it.
    /// </summary>
    public string? ApiVersion { get; set; }

    /// <summary>
    /// Where the host's system log is (a journal or a syslog file) and how it is reached; see
    /// <see cref="HostLogs.HostLogLocation"/>. Null: on a host reached through a local unix socket, the usual places
    /// (<see cref="HostLogs.HostLogOptions"/>); elsewhere host logs are <c>not_available</c>.
    /// </summary>
    public HostLogs.HostLogLocation? SystemLog { get; set; }

    /// <summary>Where the host's Docker daemon log is (a journal's unit or a file); null as for <see cref="SystemLog"/>.</summary>
    public HostLogs.HostLogLocation? DaemonLog { get; set; }
}
