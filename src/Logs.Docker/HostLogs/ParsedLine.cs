using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// What a line's format says about it: its own timestamp (null for a line that has none, such as the second line of a
/// Go panic, which then takes its predecessor's), its level and the text shown.
/// </summary>
internal sealed record ParsedLine(LogTimestamp? Timestamp, LogSeverity Level, string Text, IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>One format of plain log file: syslog, dockerd's logfmt.</summary>
internal interface ILogLineFormat
{
    /// <param name="line">The line.</param>
    /// <param name="offset">Where it starts in its file; null when it is not known (a reader container's output).</param>
    ParsedLine Parse(string line, long? offset);
}
