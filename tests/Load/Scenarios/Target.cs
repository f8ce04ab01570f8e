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
    /// <summary>
    /// The raw broadcaster fed by one real Docker follow of the run's container instead of lines it makes itself: the
    /// ceiling with Docker's cost (json-file write and the follow) on its side too.
    /// </summary>
    RawDocker,
}

internal static class TargetNames
{
    public static string Wire(this Target target) => target switch { Target.Legacy => "legacy", Target.Unified => "unified", Target.RawDocker => "raw+docker", _ => "raw" };

    /// <summary>Served by the raw broadcaster (its own lines or a Docker follow's).</summary>
    public static bool IsRaw(this Target target) => target is Target.Raw or Target.RawDocker;

    /// <summary>The <c>path</c> its <c>connected</c> frame names.</summary>
    public static string ConnectedPath(this Target target) => target.IsRaw() ? "raw" : target.Wire();
    public static string Wire(this bool batch) => batch ? "batch" : "line";
}
