namespace LogsMigration.Load;

/// <summary>What one harness run does: quick (correctness only, for CI) or full (the report), and where things are.</summary>
internal sealed record HarnessSettings(bool Full, string RepoRoot, string OutputDir, string ServiceDll, string EngineName, IReadOnlySet<string>? Only, string CommandLine)
{
    /// <summary>Fan-out viewer counts and rates to run instead of the mode's (<c>--n 100,1000 --r 1000</c>), to look at one point.</summary>
    public int[]? FanOutViewers { get; init; }
    public int[]? FanOutRates { get; init; }
    /// <summary>Fan-out paths to run (<c>--paths unified,raw</c>); all three by default.</summary>
    public string[]? FanOutPaths { get; init; }
    /// <summary>
    /// <c>--no-retry</c>: a disturbed run is kept as it is, not run again (for targeted runs on a box that is busy
    /// throughout, where the second attempt is as disturbed as the first and only doubles the time).
    /// </summary>
    public bool NoRetry { get; init; }
    /// <summary>Fan-out frame formats to run (<c>--formats batch</c>); both (from the mode's viewer count up) by default.</summary>
    public string[]? FanOutFormats { get; init; }
    /// <summary>
    /// Service settings for the fan-out runs (<c>--service Streaming__BatchLinger=00:00:00</c>, comma-separated), to
    /// compare one option's values at a point; each such run gets a fresh service. None by default.
    /// </summary>
    public IReadOnlyDictionary<string, string> FanOutService { get; init; } = new Dictionary<string, string>();
    /// <summary>How long each fan-out writer runs in the full mode (<c>--seconds 30</c>, to profile one point); null: the scenario's default.</summary>
    public int? FanOutSeconds { get; init; }

    public const string DefaultEngine = "load";

    public string LogDir => Path.Combine(RepoRoot, "artifacts", "load", "logs");

    public bool Runs(string scenario) => Only is null || Only.Contains(scenario);

    /// <summary><c>quick|full [--only a,b] [--out DIR] [--engine NAME] [--repo DIR]</c>.</summary>
    public static HarnessSettings Parse(string[] args)
    {
        string? Option(string name)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }
        var full = args[0] == "full";
        var repo = Path.GetFullPath(Option("--repo") ?? FindRepoRoot());
        var output = Path.GetFullPath(Option("--out") ?? Path.Combine(repo, full ? "docs" : Path.Combine("artifacts", "load")));
        var only = Option("--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var engine = Option("--engine") ?? DefaultEngine;
        if (engine is "main" or "second" or "worker" or "restarttest" or "demo")
            throw new ArgumentException($"engine '{engine}' belongs to other test suites; the harness uses its own ('{DefaultEngine}').");
        var service = Path.Combine(repo, "src", "Api", "bin", "Release", "net10.0", "LogsMigration.Api.dll");
        int[]? Numbers(string name) => Option(name)?.Split(',').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new HarnessSettings(full, repo, output, service, engine, only, Option("--command") ?? "bash scripts/load.sh " + (full ? "--full" : "--quick"))
        {
            FanOutViewers = Numbers("--n"),
            FanOutRates = Numbers("--r"),
            FanOutPaths = Option("--paths")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            NoRetry = args.Contains("--no-retry"),
            FanOutSeconds = Numbers("--seconds")?.Single(),
            FanOutFormats = Option("--formats")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            FanOutService = (Option("--service") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(pair => pair.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
        };
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LogsMigration.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
