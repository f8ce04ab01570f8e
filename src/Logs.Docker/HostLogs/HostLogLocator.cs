using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Where a host's system or daemon log is: its <c>SystemLog</c>/<c>DaemonLog</c> setting, else, on a host whose daemon
/// is reached through a local unix socket (this machine), the usual places; else <see cref="LogSourceErrorKind.NotAvailable"/>
/// naming what was looked for and the setting to set, so a client learns at once instead of waiting on nothing.
/// </summary>
public sealed class HostLogLocator(IOptions<DockerOptions> options)
{
    private readonly DockerOptions _options = options.Value;

    public async ValueTask<HostLogLocation> LocateAsync(string hostId, HostLogKind kind, CancellationToken cancellationToken)
    {
        if (!_options.Hosts.TryGetValue(hostId, out var host))
            throw new LogSourceException(LogSourceErrorKind.NotFound, $"Unknown Docker host '{hostId}'.");
        var setting = Setting(hostId, kind);
        var configured = kind == HostLogKind.System ? host.SystemLog : host.DaemonLog;
        if (configured is not null)
            return Check(kind == HostLogKind.Daemon ? WithDaemonUnit(configured) : configured, setting);
        if (!host.Endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            throw new LogSourceException(LogSourceErrorKind.NotAvailable,
                $"The {Name(kind)} of host '{hostId}' is not configured, and the host is not this machine; set {setting} (JournalDirectory, JournalFile or File, and Access).");
        return kind == HostLogKind.System ? SearchSystemLog(setting) : await SearchDaemonLogAsync(setting, cancellationToken).ConfigureAwait(false);
    }

    private HostLogLocation SearchSystemLog(string setting)
    {
        var hostLogs = _options.HostLogs;
        if (hostLogs.EffectiveJournalDirectories.FirstOrDefault(HasJournalFiles) is { } journal)
            return new HostLogLocation { JournalDirectory = journal };
        if (hostLogs.EffectiveSystemLogFiles.FirstOrDefault(File.Exists) is { } file)
            return new HostLogLocation { File = file };
        throw new LogSourceException(LogSourceErrorKind.NotAvailable,
            $"No system log on this machine: no journal in {string.Join(", ", hostLogs.EffectiveJournalDirectories)} and none of {string.Join(", ", hostLogs.EffectiveSystemLogFiles)}; set {setting}.");
    }

    private async ValueTask<HostLogLocation> SearchDaemonLogAsync(string setting, CancellationToken cancellationToken)
    {
        var hostLogs = _options.HostLogs;
        var unit = hostLogs.EffectiveDaemonUnit;
        foreach (var directory in hostLogs.EffectiveJournalDirectories.Where(HasJournalFiles))
        {
            var location = new HostLogLocation { JournalDirectory = directory, Unit = unit };
            if (await JournalCommand.HasEntriesAsync(hostLogs, location, cancellationToken).ConfigureAwait(false))
                return location;
        }
        if (hostLogs.EffectiveDaemonLogFiles.FirstOrDefault(File.Exists) is { } file)
            return new HostLogLocation { File = file };
        throw new LogSourceException(LogSourceErrorKind.NotAvailable,
            $"No Docker daemon log on this machine: no {unit} entries in a journal in {string.Join(", ", hostLogs.EffectiveJournalDirectories)} and none of {string.Join(", ", hostLogs.EffectiveDaemonLogFiles)}; set {setting}.");
    }

    /// <summary>
    /// A daemon log in a journal is the daemon's unit only: a configured journal without <c>Unit</c> reads
    /// <see cref="HostLogOptions.DaemonUnit"/> (<c>docker.service</c>), never the whole journal.
    /// </summary>
    private HostLogLocation WithDaemonUnit(HostLogLocation location) =>
        location.Journal is null || location.Unit is not null
            ? location
            : new HostLogLocation
            {
                Access = location.Access,
                JournalDirectory = location.JournalDirectory,
                JournalFile = location.JournalFile,
                Unit = _options.HostLogs.EffectiveDaemonUnit,
                ReaderImage = location.ReaderImage,
            };

    /// <summary>A configured location read by this process must be there; a reader container's paths are checked by the host.</summary>
    private static HostLogLocation Check(HostLogLocation location, string setting)
    {
        if (location.Access != HostLogAccess.Local)
            return location;
        var missing = location switch
        {
            { JournalDirectory: { } directory } when !HasJournalFiles(directory) => $"JournalDirectory '{directory}' holds no journal files",
            { JournalFile: { } file } when !File.Exists(file) => $"JournalFile '{file}' does not exist",
            { File: { } file } when !File.Exists(file) && !File.Exists(FileHistory.RotatedPath(file)) => $"File '{file}' does not exist",
            _ => null,
        };
        return missing is null
            ? location
            : throw new LogSourceException(LogSourceErrorKind.NotAvailable, $"{setting}:{missing}; check the path or set {setting} to where the log is.");
    }

    internal static bool HasJournalFiles(string directory)
    {
        try
        {
            return Directory.Exists(directory)
                && Directory.EnumerateFiles(directory, "*.journal*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, IgnoreInaccessible = true }).Any();
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static string Setting(string hostId, HostLogKind kind) =>
        $"{DockerOptions.SectionName}:Hosts:{hostId}:{(kind == HostLogKind.System ? "SystemLog" : "DaemonLog")}";

    private static string Name(HostLogKind kind) => kind == HostLogKind.System ? "system log" : "Docker daemon log";
}
