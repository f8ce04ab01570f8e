using System.Text.Json;
using LogsMigration.Load.Infra;

namespace LogsMigration.Load.Report;

/// <summary>Writes the results: JSON always; in the full mode also docs/benchmarks.md and its PNG plots.</summary>
internal sealed partial class BenchmarkReport(HarnessSettings settings, MachineInfo machine, IReadOnlyList<RunResult> results, TimeSpan elapsed)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public async Task<IReadOnlyList<string>> WriteAsync(CancellationToken cancellationToken)
    {
        var written = new List<string>();
        var folder = settings.Full ? Path.Combine(settings.OutputDir, "benchmarks") : settings.OutputDir;
        Directory.CreateDirectory(folder);
        var json = Path.Combine(folder, settings.Full ? "results.json" : "quick-results.json");
        await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
        {
            mode = settings.Full ? "full" : "quick",
            command = settings.CommandLine,
            machine,
            seconds = Math.Round(elapsed.TotalSeconds),
            results,
        }, Json), cancellationToken);
        written.Add(Relative(json));
        if (settings.Full)
        {
            written.AddRange(Plots.Write(folder, results).Select(Relative));
            var markdown = Path.Combine(settings.OutputDir, "benchmarks.md");
            await File.WriteAllTextAsync(markdown, Markdown(), cancellationToken);
            written.Add(Relative(markdown));
        }
        return written;
    }

    private string Relative(string path) => Path.GetRelativePath(settings.RepoRoot, path);
}
