using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>A host's Docker daemon log (<c>/ws/daemon/{host_id}/logs</c>): the <c>docker.service</c> unit in its journal, or dockerd's log file.</summary>
public sealed class DaemonLogSource : SystemLogSource
{
    public DaemonLogSource(HostLogLocator locator, HostLogReader reader) : base(HostLogKind.Daemon, locator, reader)
    {
    }

    public override LogSourceType SourceType => LogSourceType.Daemon;
}
