namespace LogsMigration.Docker;

/// <summary>
/// The Docker hosts this service reads logs from, and the timing of the Docker sources.
/// Bound from the <c>Docker</c> configuration section and validated at start-up.
/// </summary>
public sealed class DockerOptions
{
    public const string SectionName = "Docker";

    /// <summary>Id of the host used when there is only the implicit one (no <see cref="Hosts"/> configured).</summary>
    public const string LocalHostId = "local";

    /// <summary>Endpoint of the implicit host when <c>DOCKER_HOST</c> is not set either.</summary>
    public const string DefaultEndpoint = "unix:///var/run/docker.sock";

    /// <summary>
    /// The host used when a client names none (the contract's <c>host_id</c> is optional for most routes).
    /// Must be a key of <see cref="Hosts"/>. Default <c>local</c>.
    /// </summary>
    public string DefaultHost { get; set; } = LocalHostId;

    /// <summary>
    /// Configured hosts by id; the id is what clients send as <c>host_id</c> and what stream keys carry.
    /// When empty, one host <c>local</c> is used, reached through <c>DOCKER_HOST</c> or the default socket,
    /// so a single-host installation needs no configuration.
    /// </summary>
    public Dictionary<string, DockerHostOptions> Hosts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// After a followed container's log stream ends (the container stopped), how long to wait for it to start
    /// again before ending the stream, so that a <c>docker restart</c> or a restart policy does not disconnect
    /// everybody watching. Default 5 s.
    /// </summary>
    public TimeSpan RestartGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When a followed container runs again, its log is reopened this much before the newest line passed on, and the
    /// lines given again are dropped by identity: stdout and stderr are stamped by two copiers, so a line stamped a
    /// little earlier can reach the log after the newest. Default 2 s.
    /// </summary>
    public TimeSpan RestartSeamMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Service lines from several replicas reach the daemon in no guaranteed order; each line is held this long
    /// so that lines of other replicas written just before it can overtake it, then released in timestamp order.
    /// Longer gives a better order and a later line. Default 250 ms.
    /// </summary>
    public TimeSpan ServiceMergeWindow { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Lines a service's or stack's merge holds at most; beyond it the oldest is released early (possibly out of order),
    /// so a flood cannot grow memory without bound. Default 10000.
    /// </summary>
    public int ServiceMergeMaxHeldLines { get; set; } = 10_000;

    /// <summary>
    /// A service's (or a stack member's) read without follow that gives nothing for this long is taken as stalled and
    /// read again: dockerd can leave such a read open forever, part of it unsent, when the service's tasks change
    /// while it runs (moby/moby#38640). Keep it times (<see cref="ServiceReadStallRetries"/> + 1) below
    /// <c>Streaming:OpenTimeout</c>, which bounds a stream's first history read. Default 5 s (1 s to 10 min).
    /// </summary>
    public TimeSpan ServiceReadStallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many times a stalled read without follow is read again before it ends with a marker that lines may be
    /// missing. Default 3 (0 to 100).
    /// </summary>
    public int ServiceReadStallRetries { get; set; } = 3;

    /// <summary>How a stack's members are read: its poll, buffer and per-member retry.</summary>
    public Stacks.StackOptions Stacks { get; set; } = new();

    /// <summary>How host and daemon logs are followed and where an unconfigured local host's are looked for.</summary>
    public HostLogs.HostLogOptions HostLogs { get; set; } = new();
}
