namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Saturation: 100 viewers of one writer far faster than they can all be served, to find each server's most
/// deliveries per second. The writer container runs in every run (the raw one too) so Docker's own cost of taking
/// the lines in is on the machine in all three; viewers that cannot keep up lose their oldest lines with a gap
/// marker (unified, raw) or fall behind (legacy, which never drops).
/// </summary>
internal static class Saturation
{
    public static async Task RunAsync(HarnessContext context, int viewers, int lineRate, int batchRate, TimeSpan duration, CancellationToken cancellationToken)
    {
        foreach (var batch in new[] { false, true })
        {
            var rate = batch ? batchRate : lineRate;
            foreach (var target in new[] { Target.Legacy, Target.Unified, Target.Raw })
            {
                var spec = new BroadcastSpec
                {
                    Scenario = "saturation",
                    Variant = $"N={viewers} R={rate}",
                    Target = target,
                    Batch = batch,
                    ViewersPerStream = viewers,
                    Rate = rate,
                    Lines = (long)(rate * duration.TotalSeconds),
                    Slack = TimeSpan.FromSeconds(6),
                };
                context.Add(await BroadcastRun.MeasureAsync(context, spec, cancellationToken));
            }
        }
    }
}
