namespace LogsMigration.Load.Scenarios;

/// <summary>What serves the viewers in a run.</summary>
internal enum Target
{
    /// <summary>The service, container logs switched to the old per-connection path.</summary>
    Legacy,
    /// <summary>The service, container logs on the shared pipeline.</summary>
    Unified,
    /// <summary>The raw ceiling broadcaster.</summary>
    Raw,
}

internal static class TargetNames
{
    public static string Wire(this Target target) => target switch { Target.Legacy => "legacy", Target.Unified => "unified", _ => "raw" };
    public static string Wire(this bool batch) => batch ? "batch" : "line";
}
