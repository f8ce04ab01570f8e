using System.Text.Json;
using LogsMigration.Load.Infra;

namespace LogsMigration.Load.Report;

/// <summary>
/// <c>report</c>: rewrites docs/benchmarks.md and its plots from the JSON of the last full run, without running it
/// again, e.g. after editing the hand-written analysis (docs/benchmarks/analysis.md) that the report includes.
/// </summary>
internal static class ReportCommand
{
    public static async Task<int> RunAsync(HarnessSettings settings)
    {
        var json = Path.Combine(settings.OutputDir, "benchmarks", "results.json");
        if (!File.Exists(json))
        {
            Console.Error.WriteLine($"{json} not found: run the full mode first (bash scripts/load.sh --full).");
            return 2;
        }
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        var saved = JsonSerializer.Deserialize<SavedRun>(await File.ReadAllTextAsync(json), options)
            ?? throw new InvalidOperationException($"{json} is empty");
        var report = new BenchmarkReport(settings with { CommandLine = saved.Command }, saved.Machine, saved.Results, TimeSpan.FromSeconds(saved.Seconds));
        foreach (var file in await report.WriteAsync(CancellationToken.None))
            Console.WriteLine($"wrote {file}");
        return 0;
    }

    private sealed record SavedRun(string Mode, string Command, MachineInfo Machine, double Seconds, List<RunResult> Results);
}
