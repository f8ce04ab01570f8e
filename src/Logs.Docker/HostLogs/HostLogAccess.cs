namespace LogsMigration.Docker.HostLogs;

/// <summary>How this service reaches a host's system or daemon log.</summary>
public enum HostLogAccess
{
    /// <summary>This process reads the paths itself: it runs on that host, or has the paths mounted.</summary>
    Local,

    /// <summary>
    /// A small reader container is started on that host through its Docker API, with the paths bind-mounted
    /// read-only, and its output is read: nothing to install on the host but Docker.
    /// </summary>
    Container,
}
