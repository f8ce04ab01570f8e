using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>A host's system log (<c>/ws/hosts/{host_id}/logs</c>): its journal, or its syslog file.</summary>
public sealed class HostLogSource : SystemLogSource
{
    public HostLogSource(HostLogLocator locator, HostLogReader reader) : base(HostLogKind.System, locator, reader)
    {
    }

    public override LogSourceType SourceType => LogSourceType.Host;
}
