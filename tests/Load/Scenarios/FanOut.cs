namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Fan-out: N viewers of one container writing R lines/s, on the legacy path, the unified path and the raw ceiling,
/// with one line per frame (the contract's default) and, from <c>batchFrom</c> viewers up, with batched frames; in the
/// full mode also on the raw broadcaster fed by a Docker follow of the same container (raw+docker).
/// </summary>
internal static class FanOut
{
    /// <summary>How long the writer runs in the full mode: long enough for a stable p99, short enough for 40 runs.</summary>
    private static readonly TimeSpan FullDuration = TimeSpan.FromSeconds(8);

    /// <summary>
    /// The paths of each point: <c>--paths</c> if given; else all four in the full mode and the three of the service and
    /// the raw ceiling in the quick one (raw+docker is a measurement, not a correctness check, and CI's run stays short).
    /// </summary>
    private static IEnumerable<Target> Targets(HarnessContext context) =>
        new[] { Target.Legacy, Target.Unified, Target.Raw, Target.RawDocker }.Where(t => context.Settings.FanOutPaths is { } paths
            ? paths.Contains(t.Wire())
            : context.Settings.Full || t != Target.RawDocker);

    public static async Task RunAsync(HarnessContext context, int[] viewerCounts, int[] rates, long lines, int batchFrom, CancellationToken cancellationToken)
    {
        foreach (var rate in context.Settings.FanOutRates ?? rates)
        {
            foreach (var n in context.Settings.FanOutViewers ?? viewerCounts)
            {
                foreach (var batch in (n >= batchFrom ? new[] { false, true } : [false]).Where(b => context.Settings.FanOutFormats?.Contains(b.Wire()) != false))
                {
                    foreach (var target in Targets(context))
                    {
                        var spec = new BroadcastSpec
                        {
                            Scenario = "fan-out",
                            Variant = $"N={n} R={rate}",
                            Target = target,
                            Batch = batch,
                            ViewersPerStream = n,
                            Rate = rate,
                            Lines = lines > 0 ? lines : (long)(rate * (context.Settings.FanOutSeconds ?? FullDuration.TotalSeconds)),
                            Slack = TimeSpan.FromSeconds(context.Settings.Full ? 12 : 8),
                            Service = target.IsRaw() ? new Dictionary<string, string>() : context.Settings.FanOutService,
                        };
                        context.Add(await BroadcastRun.MeasureAsync(context, spec, cancellationToken));
                    }
                }
            }
        }
    }
}
