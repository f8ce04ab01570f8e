namespace LogsMigration.Docker.Stacks;

/// <summary>How a stack's members are read (<c>Docker:Stacks</c>).</summary>
public sealed class StackOptions
{
    /// <summary>How often a stack is listed again while Docker's event stream cannot be watched. Default 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Lines read from the members and not yet taken by the merge; beyond it the members' reads wait (Docker holds the
    /// rest). Default 1024.
    /// </summary>
    public int BufferedLines { get; set; } = 1024;

    /// <summary>
    /// A member's read that fails with a transient fault (its daemon connection broke) is reopened on its own, from its own
    /// last line, while the other members go on: first after this long, doubling up to <see cref="MemberRetryMaxBackoff"/>.
    /// Default 500 ms.
    /// </summary>
    public TimeSpan MemberRetryInitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between two reopens of a member's read. Default 10 s.</summary>
    public TimeSpan MemberRetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A member whose read keeps failing this long without a new line is given up: a marker says its lines end there,
    /// the other members go on. Default 2 min.
    /// </summary>
    public TimeSpan MemberRetryGiveUpAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A member whose read failed (a marker said so) is read again, from its own last line, only after this long, or at
    /// once when Docker shows a new run of it (a Compose container started again): never in a loop that replays its
    /// history. Default 30 s.
    /// </summary>
    public TimeSpan FailedMemberRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When the stack is removed (<c>docker stack rm</c>, the project's containers gone), the members' reads still open
    /// are given this long to end on their own (Docker sends a removed member's last lines first) before they are
    /// cancelled. Default 5 s.
    /// </summary>
    public TimeSpan RemovalDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Replicas of one member whose progress is kept to reopen its read without repeats. A replica gone (a replaced or
    /// crashed task) is forgotten as soon as nothing of it can come again; this bounds the rest whatever happens (beyond
    /// it, the replica with the oldest last line is forgotten, and a reopen may repeat its last lines). Default 256.
    /// </summary>
    public int MaxTrackedReplicas { get; set; } = 256;
}
