namespace LogsMigration.Docker.HostLogs;

/// <summary>Which of a host's own logs: its system log, or its Docker daemon's log.</summary>
public enum HostLogKind
{
    System,
    Daemon,
}
