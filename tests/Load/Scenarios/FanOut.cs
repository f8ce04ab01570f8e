namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Fan-out: N viewers of one container writing R lines/s, on the legacy path, the unified path and the raw ceiling,
/// with one line per frame (the contract's default) and, from <c>batchFrom</c> viewers up, with batched frames.
/// </summary>
internal static class FanOut
{
    /// <summary>How long the writer runs in the full mode: long enough for a stable p99, short enough for 40 runs.</summary>
    private static readonly TimeSpan FullDuration = TimeSpan.FromSeconds(8);

    public static async Task RunAsync(HarnessContext context, int[] viewerCounts, int[] rates, long lines, int batchFrom, CancellationToken cancellationToken)
    {
        foreach (var rate in context.Settings.FanOutRates ?? rates)
        {
            foreach (var n in context.Settings.FanOutViewers ?? viewerCounts)
            {
                foreach (var batch in n >= batchFrom ? new[] { false, true } : [false])
                {
                    foreach (var target in new[] { Target.Legacy, Target.Unified, Target.Raw }.Where(t => context.Settings.FanOutPaths?.Contains(t.Wire()) != false))
                    {
                        var spec = new BroadcastSpec
                        {
                            Scenario = "fan-out",
                            Variant = $"N={n} R={rate}",
                            Target = target,
                            Batch = batch,
                            ViewersPerStream = n,
                            Rate = rate,
                            Lines = lines > 0 ? lines : (long)(rate * FullDuration.TotalSeconds),
                            Slack = TimeSpan.FromSeconds(context.Settings.Full ? 12 : 8),
                        };
                        context.Add(await BroadcastRun.MeasureAsync(context, spec, cancellationToken));
                    }
                }
            }
        }
    }
}
