namespace LogsMigration.Docker.Services;

/// <summary>
/// Tells a manager that cannot serve right now from a node that never will. A node outside any swarm, or a worker,
/// answers 503 "This node is not a swarm manager. Use "docker swarm init" …" or "… Worker nodes can't be used …":
/// asking again does not help. A manager answers, while it restarts, loses quorum or waits to be unlocked (moby's
/// daemon/cluster and swarmkit texts): 500 "rpc error: code = Unknown desc = The swarm does not have a leader. It's
/// possible that too few managers are online. …", 503 "This node is not a swarm manager. Manager is being prepared or
/// has trouble connecting to the cluster.", 503 "Swarm is encrypted and needs to be unlocked before it can be used. …",
/// or a gRPC deadline or unavailable error from the raft store: each passes once the manager has a leader again.
/// </summary>
internal static class SwarmManagerErrors
{
    private static readonly string[] RecoveringTexts =
    [
        "does not have a leader",
        "too few managers are online",
        "Manager is being prepared",
        "needs to be unlocked",
        "swarm is locked",
        "code = DeadlineExceeded",
        "code = Unavailable",
    ];

    /// <summary>True when the daemon's message says it is a manager whose control plane is not available yet.</summary>
    public static bool IsRecovering(string daemonMessage) =>
        RecoveringTexts.Any(text => daemonMessage.Contains(text, StringComparison.OrdinalIgnoreCase));
}
