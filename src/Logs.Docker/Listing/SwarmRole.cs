namespace LogsMigration.Docker.Listing;

/// <summary>What a host is to Swarm, in the words of <c>GET /api/v1/hosts</c>.</summary>
public static class SwarmRole
{
    public const string Manager = "manager";
    public const string Worker = "worker";

    /// <summary>Not in a swarm (or joining, leaving, locked: nothing Swarm can be asked of it).</summary>
    public const string None = "none";

    internal static string Of(string? localNodeState, bool controlAvailable) =>
        !string.Equals(localNodeState, "active", StringComparison.OrdinalIgnoreCase) ? None
        : controlAvailable ? Manager
        : Worker;
}
