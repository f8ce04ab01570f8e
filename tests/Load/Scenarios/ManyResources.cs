namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Many resources: many containers, a few viewers each. The same containers serve every run (one phase per run), so
/// the paths are compared on identical writers. The unified path should hold one daemon connection per container,
/// the legacy path one per viewer.
/// </summary>
internal static class ManyResources
{
    public static async Task RunAsync(HarnessContext context, int containers, int viewersEach, int rate, TimeSpan duration, (Target Target, bool Batch)[] runs, CancellationToken cancellationToken)
    {
        var lines = (long)(rate * duration.TotalSeconds);
        var writers = await StreamSet.CreateAsync(context, context.NextRunId(), containers, rate, lines, runs.Length, cancellationToken);
        try
        {
            foreach (var (target, batch) in runs)
            {
                var spec = new BroadcastSpec
                {
                    Scenario = "many-resources",
                    Variant = $"{containers}x{viewersEach} R={rate}",
                    Target = target,
                    Batch = batch,
                    Streams = containers,
                    ViewersPerStream = viewersEach,
                    Rate = rate,
                    Lines = lines,
                    Shared = writers,
                    Slack = TimeSpan.FromSeconds(15),
                };
                context.Add(await BroadcastRun.RunAsync(context, spec, cancellationToken));
            }
        }
        finally
        {
            await writers.RemoveAsync(context);
        }
    }
}
