namespace LogsMigration.Pipeline.Model;

/// <summary>The five kinds of log the contract serves; the lowercase name is the wire's <c>source_type</c>.</summary>
public enum LogSourceType
{
    Container,
    Service,
    Host,
    Daemon,
    Stack,
}

public static class LogSourceTypeNames
{
    public static string ToWire(this LogSourceType type) => type switch
    {
        LogSourceType.Container => "container",
        LogSourceType.Service => "service",
        LogSourceType.Host => "host",
        LogSourceType.Daemon => "daemon",
        LogSourceType.Stack => "stack",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
