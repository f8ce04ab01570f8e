namespace LogsMigration.Pipeline.Model;

/// <summary>The contract's <c>level</c> values. Named Severity so it never clashes with Microsoft.Extensions.Logging.LogLevel.</summary>
public enum LogSeverity : byte
{
    Unknown,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

public static class LogSeverityNames
{
    public static string ToWire(this LogSeverity level) => level switch
    {
        LogSeverity.Debug => "debug",
        LogSeverity.Info => "info",
        LogSeverity.Warning => "warning",
        LogSeverity.Error => "error",
        LogSeverity.Critical => "critical",
        _ => "unknown",
    };
}
