namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Where one host's system log (<c>Docker:Hosts:&lt;id&gt;:SystemLog</c>) or daemon log (<c>…:DaemonLog</c>) is, and how
/// to reach it. Exactly one of <see cref="JournalDirectory"/>, <see cref="JournalFile"/> and <see cref="File"/> is set.
/// </summary>
public sealed class HostLogLocation
{
    /// <summary><c>Local</c> (default) or <c>Container</c>; see <see cref="HostLogAccess"/>.</summary>
    public HostLogAccess Access { get; set; } = HostLogAccess.Local;

    /// <summary>A journal directory (<c>journalctl --directory</c>), for example <c>/var/log/journal</c>.</summary>
    public string? JournalDirectory { get; set; }

    /// <summary>One journal file (<c>journalctl --file</c>).</summary>
    public string? JournalFile { get; set; }

    /// <summary>A plain log file (syslog, <c>dockerd.log</c>), followed across rotation (rename and copy-truncate).</summary>
    public string? File { get; set; }

    /// <summary>
    /// Journal only: the systemd unit whose entries are read (<c>journalctl --unit</c>). Default: every entry for the
    /// system log, <c>docker.service</c> for the daemon log.
    /// </summary>
    public string? Unit { get; set; }

    /// <summary>Container access only: the reader's image. Default <c>Docker:HostLogs:ReaderImage</c>.</summary>
    public string? ReaderImage { get; set; }

    /// <summary>The journal directory or file, if this names a journal.</summary>
    internal string? Journal => JournalDirectory ?? JournalFile;
}
