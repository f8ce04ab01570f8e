namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Settings shared by the host and daemon log sources (<c>Docker:HostLogs</c>): how files are followed, the reader
/// container, and where a host with no <c>SystemLog</c>/<c>DaemonLog</c> of its own is looked for.
/// </summary>
public sealed class HostLogOptions
{
    public static readonly string[] BuiltInJournalDirectories = ["/run/log/journal", "/var/log/journal"];
    public static readonly string[] BuiltInSystemLogFiles = ["/var/log/syslog", "/var/log/messages"];
    public static readonly string[] BuiltInDaemonLogFiles = ["/var/log/docker.log"];
    public const string BuiltInDaemonUnit = "docker.service";

    /// <summary>How often a followed file is checked for new lines and for rotation. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A longer line (or journal entry) is cut to this many bytes. Default 64 KiB.</summary>
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How far a line's own time may be out of order with where it is stored: dockerd's <c>time=</c> against the
    /// journal's receive time, a line written after one stamped later (two writers, a clock step). A time range reads
    /// this much past its ends (the daemon journal's <c>--since</c>/<c>--until</c>; a file goes on this far past
    /// <c>until</c>) and keeps the lines whose own time is in it. Default 5 s.
    /// </summary>
    public TimeSpan OutOfOrderSlack { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The journalctl to run for journals read locally. Default <c>journalctl</c> (from PATH).</summary>
    public string JournalctlPath { get; set; } = "journalctl";

    /// <summary>
    /// The reader container's image when a location sets none: it needs <c>tail</c> for files and <c>journalctl</c>
    /// for journals. Default <c>busybox:latest</c>.
    /// </summary>
    public string ReaderImage { get; set; } = "busybox:latest";

    /// <summary>
    /// Whose reader containers these are (their owner label): the start-up cleanup removes this owner's readers of
    /// earlier runs. Unset: <c>Streaming:InstanceId</c> when the service sets one, else the machine name. Several
    /// instances on one machine must each have their own, or each one's start-up removes the others' live readers.
    /// </summary>
    public string? ReaderOwner { get; set; }

    /// <summary>
    /// A reader container cannot seek by time: a read that starts at a time (a resume) takes the file's last this many
    /// lines and keeps those at or after it. Default 10000.
    /// </summary>
    public int ReaderReadBackLines { get; set; } = 10_000;

    /// <summary>
    /// Hosts without a <c>SystemLog</c> whose endpoint is a local unix socket look for a journal here first.
    /// Default <c>/run/log/journal</c>, <c>/var/log/journal</c>.
    /// </summary>
    public string[]? JournalDirectories { get; set; }

    /// <summary>…then for these syslog files. Default <c>/var/log/syslog</c>, <c>/var/log/messages</c>.</summary>
    public string[]? SystemLogFiles { get; set; }

    /// <summary>Hosts without a <c>DaemonLog</c>: this unit in the journal first. Default <c>docker.service</c>.</summary>
    public string? DaemonUnit { get; set; }

    /// <summary>…then these files. Default <c>/var/log/docker.log</c>.</summary>
    public string[]? DaemonLogFiles { get; set; }

    internal IReadOnlyList<string> EffectiveJournalDirectories => JournalDirectories ?? BuiltInJournalDirectories;
    internal IReadOnlyList<string> EffectiveSystemLogFiles => SystemLogFiles ?? BuiltInSystemLogFiles;
    internal IReadOnlyList<string> EffectiveDaemonLogFiles => DaemonLogFiles ?? BuiltInDaemonLogFiles;
    internal string EffectiveReaderOwner => string.IsNullOrEmpty(ReaderOwner) ? Environment.MachineName : ReaderOwner;
    internal string EffectiveDaemonUnit => DaemonUnit ?? BuiltInDaemonUnit;
}
