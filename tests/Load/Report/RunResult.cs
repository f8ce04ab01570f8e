using System.Text.Json.Serialization;
using HdrHistogram;

namespace LogsMigration.Load.Report;

/// <summary>Latency percentiles in milliseconds.</summary>
internal sealed record Percentiles(double P50, double P99, double Max, long Count)
{
    public static Percentiles? From(HistogramBase histogram, double unitsPerMs = 1000) =>
        histogram.TotalCount == 0 ? null : new Percentiles(
            Math.Round(histogram.GetValueAtPercentile(50) / unitsPerMs, 2),
            Math.Round(histogram.GetValueAtPercentile(99) / unitsPerMs, 2),
            Math.Round(histogram.GetMaxValue() / unitsPerMs, 2),
            histogram.TotalCount);

    public static Percentiles? From(IReadOnlyCollection<double> millis)
    {
        if (millis.Count == 0)
            return null;
        var sorted = millis.Order().ToArray();
        double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
        return new Percentiles(Math.Round(At(50), 2), Math.Round(At(99), 2), Math.Round(sorted[^1], 2), sorted.Length);
    }
}

/// <summary>One sample of a run's time line (seconds since the writers started).</summary>
internal sealed record TimePoint(double T, double DeliveriesPerSecond, double ServiceRssMiB, int DaemonConnections, int Viewers);

/// <summary>Everything measured in one run of one scenario on one path and frame format.</summary>
internal sealed class RunResult
{
    public required string Scenario { get; init; }
    public required string Variant { get; init; }
    /// <summary><c>legacy</c>, <c>unified</c> or <c>raw</c>.</summary>
    public required string Path { get; init; }
    /// <summary><c>line</c> (one line per frame, the contract's default) or <c>batch</c>.</summary>
    public required string Format { get; init; }
    public int Streams { get; set; }
    public int Viewers { get; set; }
    public int SlowViewers { get; set; }
    /// <summary>Lines per second each writer was asked for.</summary>
    public int Rate { get; set; }
    /// <summary>Lines per second each writer achieved, from the lines' own timestamps.</summary>
    public double AchievedRate { get; set; }
    public long LinesPerStream { get; set; }
    public double Seconds { get; set; }
    public long Deliveries { get; set; }
    public double DeliveriesPerSecond { get; set; }
    public int ViewersKeptUp { get; set; }
    public int ViewersBehind { get; set; }
    public int ViewersFailed { get; set; }
    /// <summary>Lines missing with no gap marker to explain them, all viewers.</summary>
    public long Lost { get; set; }
    /// <summary>Lost lines of viewers that kept up (the quick mode's failure condition, with duplicates).</summary>
    public long LostKeptUp { get; set; }
    public long Duplicates { get; set; }
    public long DuplicatesKeptUp { get; set; }
    public long GapMarkers { get; set; }
    /// <summary>Lines the server told viewers they missed (sum of gap markers).</summary>
    public long GapMissed { get; set; }
    public long Behind { get; set; }
    public Percentiles? Latency { get; set; }
    /// <summary>Latency of the slow viewers' lines (they were paused on purpose).</summary>
    public Percentiles? LatencySlow { get; set; }
    public Percentiles? FirstLine { get; set; }
    /// <summary>The service's own first-line histogram (accept to first line written), when it has one.</summary>
    public Percentiles? ServiceFirstLine { get; set; }
    public int DaemonConnectionsMax { get; set; }
    public int DaemonConnectionsAfter { get; set; }
    public Dictionary<string, double> CpuPercent { get; set; } = [];
    public double ServiceRssBaselineMiB { get; set; }
    public double ServiceRssAttachedMiB { get; set; }
    public double ServiceRssPeakMiB { get; set; }
    /// <summary>RSS growth per viewer between "no viewer" and "all attached, nothing flowing", KiB.</summary>
    public double IdleKiBPerViewer { get; set; }
    public double PeakKiBPerViewer { get; set; }
    public long BatchFrames { get; set; }
    public double LinesPerFrame { get; set; }
    public bool? BatchServed { get; set; }
    public List<TimePoint> Timeline { get; set; } = [];
    public Dictionary<string, double> Extra { get; set; } = [];
    public List<string> Notes { get; set; } = [];
    public List<string> Failures { get; set; } = [];
    public string? Error { get; set; }

    [JsonIgnore]
    public bool Passed => Error is null && Failures.Count == 0;

    [JsonIgnore]
    public string Key => $"{Scenario}|{Variant}|{Path}|{Format}";
}
