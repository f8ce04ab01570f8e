namespace LogsMigration.Load.Scenarios;

/// <summary>A named scenario: runs its variants and adds their results to the context.</summary>
internal sealed record Scenario(string Name, string Description, Func<HarnessContext, CancellationToken, Task> RunAsync);

/// <summary>
/// The scenarios of each mode, with their sizes. Quick runs each scenario small enough that every normal viewer must
/// get every line (it fails otherwise); full is the report, sized to finish in about 20 minutes on 2 cores.
/// </summary>
internal static class ScenarioPlan
{
    public static IReadOnlyList<Scenario> Quick { get; } =
    [
        new("fan-out", "10 viewers of one container writing 200 lines/s, every path and format",
            (c, ct) => FanOut.RunAsync(c, [10], [200], lines: 400, batchFrom: 1, ct)),
        new("many-resources", "10 containers x 3 viewers; a stack (a Compose project of 3 containers, 20 lines/s each) x 3 viewers, unified only",
            (c, ct) => ManyResources.RunAsync(c, 10, 3, 20, TimeSpan.FromSeconds(3), [(Target.Legacy, false), (Target.Unified, true)],
                new StackLoad(Members: 3, Viewers: 3, Rate: 20, TimeSpan.FromSeconds(3), Formats: [false, true]), ct)),
        new("late-joiners", "8 viewers join a streaming container with tail=100",
            (c, ct) => LateJoiners.RunAsync(c, 3, 8, TimeSpan.FromMilliseconds(100), 200, ct)),
        new("churn", "8 s of viewers coming and going over 4 containers",
            (c, ct) => Churn.RunAsync(c, TimeSpan.FromSeconds(8), 10, 4, 20, ct)),
        new("slow-clients", "1 of 10 viewers stops reading for 4 s (1 KiB lines, queues of 256 lines)",
            (c, ct) => SlowClients.RunAsync(c, 10, 1, 1000, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(4), padding: 15,
                new Dictionary<string, string> { ["Pipeline__SubscriberQueueEntries"] = "256" }, new Raw.RawServerSettings(QueueEntries: 256),
                [(Target.Legacy, false), (Target.Unified, false), (Target.Unified, true)], ct)),
        new("big-lines", "64 KiB lines at 50/s for 30 s; 1 of 3 viewers reads slowly (10 lines/s) without stopping: RSS within the byte bounds",
            (c, ct) => BigLines.RunAsync(c, 3, 50, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), ct)),
        new("restart", "20 viewers of a container writing 500 lines/s; the service is killed (SIGKILL) mid-run and started again on its port; every viewer resumes by cursor",
            (c, ct) => Restart.RunAsync(c, 20, 500, TimeSpan.FromSeconds(10), ct)),
    ];

    public static IReadOnlyList<Scenario> Full { get; } =
    [
        new("fan-out", "N viewers (1, 10, 100, 1000) of one container writing R lines/s (100, 1000)",
            (c, ct) => FanOut.RunAsync(c, [1, 10, 100, 1000], [100, 1000], lines: 0, batchFrom: 100, ct)),
        new("saturation", "100 viewers of a writer faster than they can be served",
            (c, ct) => Saturation.RunAsync(c, 100, lineRate: 10_000, batchRate: 10_000, TimeSpan.FromSeconds(6), ct)),
        new("slow-clients", "5 of 100 viewers stop reading for 15 s, 1000 lines/s",
            (c, ct) => SlowClients.RunAsync(c, 100, 5, 1000, TimeSpan.FromSeconds(16), TimeSpan.FromSeconds(15), padding: 1,
                new Dictionary<string, string>(), new Raw.RawServerSettings(),
                [(Target.Legacy, false), (Target.Unified, false), (Target.Raw, false), (Target.Unified, true), (Target.Raw, true)], ct)),
        new("late-joiners", "100 viewers join one by one (tail=100) while a container writes 1000 lines/s",
            (c, ct) => LateJoiners.RunAsync(c, 10, 100, TimeSpan.FromMilliseconds(50), 1000, ct)),
        new("many-resources", "200 containers x 5 viewers, 10 lines/s each; a stack (a Compose project of 10 containers, 10 lines/s each) x 5 viewers, unified only",
            (c, ct) => ManyResources.RunAsync(c, 200, 5, 10, TimeSpan.FromSeconds(10), [(Target.Legacy, false), (Target.Unified, false), (Target.Legacy, true), (Target.Unified, true)],
                new StackLoad(Members: 10, Viewers: 5, Rate: 10, TimeSpan.FromSeconds(10), Formats: [false, true]), ct)),
        new("churn", "a minute of 100 viewers coming and going over 20 containers",
            (c, ct) => Churn.RunAsync(c, TimeSpan.FromSeconds(60), 100, 20, 20, ct)),
        new("idle-memory", "1000 idle viewers of a silent container",
            (c, ct) => IdleMemory.RunAsync(c, 1000, ct)),
        new("big-lines", "64 KiB lines at 50/s for 60 s; 1 of 3 viewers reads slowly (10 lines/s) without stopping: RSS within the byte bounds",
            (c, ct) => BigLines.RunAsync(c, 3, 50, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100), ct)),
        new("cluster", "3 instances behind HAProxy (deploy/haproxy/haproxy.cfg): 10 containers x 10 viewers at 100 lines/s (the many-resources run's 10,000 deliveries/s); the busiest instance is killed (SIGKILL) mid-run and its viewers move by cursor",
            (c, ct) => Cluster.RunAsync(c, 10, 10, 100, TimeSpan.FromSeconds(20), ct)),
    ];
}
