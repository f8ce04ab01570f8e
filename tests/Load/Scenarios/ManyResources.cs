namespace LogsMigration.Load.Scenarios;

/// <summary>
/// The stack part of the many-resources scenario: one Compose project of <paramref name="Members"/> writers at
/// <paramref name="Rate"/> lines/s each for <paramref name="Duration"/>, watched as one stream on the stack route by
/// <paramref name="Viewers"/> viewers, once per frame format in <paramref name="Formats"/> (true: batch).
/// </summary>
internal sealed record StackLoad(int Members, int Viewers, int Rate, TimeSpan Duration, bool[] Formats);

/// <summary>
/// Many resources: many containers, a few viewers each. The same containers serve every run (one phase per run), so
/// the paths are compared on identical writers. The unified path should hold one daemon connection per container,
/// the legacy path one per viewer. Then a stack: the members of one Compose project merged into one stream, which every
/// viewer must get whole (every line of every member, once). Stacks are unified only, so that part has no legacy or
/// raw run to compare with.
/// </summary>
internal static class ManyResources
{
    public const string Name = "many-resources";

    public static async Task RunAsync(HarnessContext context, int containers, int viewersEach, int rate, TimeSpan duration, (Target Target, bool Batch)[] runs, StackLoad stack, CancellationToken cancellationToken)
    {
        var lines = (long)(rate * duration.TotalSeconds);
        var writers = await StreamSet.CreateAsync(context, context.NextRunId(), containers, rate, lines, runs.Length, cancellationToken);
        await RunPhasesAsync(context, writers, $"{containers}x{viewersEach} R={rate}", runs, viewersEach, cancellationToken);

        // The stack: one project, one phase per frame format, the unified path only. Every viewer watches the whole
        // project, so it expects members x lines.
        var stackLines = (long)(stack.Rate * stack.Duration.TotalSeconds);
        var project = await StreamSet.CreateProjectAsync(context, context.NextRunId(), stack.Members, stack.Rate, stackLines, stack.Formats.Length, cancellationToken);
        await RunPhasesAsync(context, project, $"stack {stack.Members} members, {stack.Viewers} viewers R={stack.Rate}",
            [.. stack.Formats.Select(batch => (Target.Unified, batch))], stack.Viewers, cancellationToken);
    }

    /// <summary>One run per (path, format) on the same writers, one phase each; the writers are removed after the last.</summary>
    private static async Task RunPhasesAsync(HarnessContext context, StreamSet writers, string variant, (Target Target, bool Batch)[] runs, int viewersEach,
        CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (target, batch) in runs)
            {
                var spec = new BroadcastSpec
                {
                    Scenario = Name,
                    Variant = variant,
                    Target = target,
                    Batch = batch,
                    Streams = writers.Names.Length,
                    ViewersPerStream = viewersEach,
                    Rate = writers.Rate,
                    Lines = writers.LinesPerPhase,
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

    /// <summary>A stack run's variant (<c>stack M members, V viewers R=…</c>): the report shows it as unified only.</summary>
    public static bool IsStack(string variant) => variant.StartsWith("stack ", StringComparison.Ordinal);
}
