using ScottPlot;

namespace LogsMigration.Load.Report;

/// <summary>The report's PNG plots (ScottPlot), drawn from the results; one file per question.</summary>
internal static class Plots
{
    private const int Width = 900;
    private const int Height = 480;

    private static readonly Dictionary<string, Color> Colors = new()
    {
        ["legacy/line"] = new Color(214, 39, 40),
        ["legacy/batch"] = new Color(255, 152, 150),
        ["unified/line"] = new Color(31, 119, 180),
        ["unified/batch"] = new Color(23, 190, 207),
        ["raw/line"] = new Color(44, 160, 44),
        ["raw/batch"] = new Color(152, 223, 138),
        ["raw+docker/line"] = new Color(148, 103, 189),
        ["raw+docker/batch"] = new Color(197, 176, 213),
    };

    public static IEnumerable<string> Write(string folder, IReadOnlyList<RunResult> results)
    {
        var written = new List<string>();
        void Save(Plot plot, string name)
        {
            var path = Path.Combine(folder, name);
            plot.SavePng(path, Width, Height);
            written.Add(path);
        }

        var fanOut = results.Where(r => r.Scenario == "fan-out" && r.Error is null).ToList();
        foreach (var rate in fanOut.Select(r => r.Rate).Distinct().Order())
        {
            var atRate = fanOut.Where(r => r.Rate == rate).ToList();
            if (atRate.Count == 0)
                continue;
            Save(LogLog(atRate, r => r.Latency?.P99, $"Delivery latency p99, one container at {rate} lines/s", "p99 latency (ms)"), $"fanout-latency-r{rate}.png");
            Save(LogLog(atRate, r => r.DeliveriesPerSecond, $"Deliveries per second, one container at {rate} lines/s", "lines delivered per second"), $"fanout-deliveries-r{rate}.png");
        }
        if (fanOut.Any(r => r.Path != "raw"))
            Save(DockerdCpu(fanOut), "fanout-dockerd-cpu.png");

        var saturation = results.Where(r => r.Scenario == "saturation" && r.Error is null).ToList();
        if (saturation.Count > 0)
            Save(Bars(saturation, r => r.DeliveriesPerSecond / 1e6, "Saturation: 100 viewers, deliveries per second", "million lines per second"), "saturation.png");

        var churn = results.Where(r => r.Scenario == "churn" && r.Error is null).ToList();
        if (churn.Count > 0)
        {
            Save(Timeline(churn, p => p.ServiceRssMiB, "Churn: service RSS while viewers come and go", "RSS (MiB)"), "churn-rss.png");
            Save(Timeline(churn, p => p.DaemonConnections, "Churn: the service's connections to dockerd", "daemon connections"), "churn-daemon-connections.png");
        }
        return written;
    }

    /// <summary>A metric against the number of viewers, both on log scales (ScottPlot draws log10 values with labelled decades).</summary>
    private static Plot LogLog(IReadOnlyList<RunResult> runs, Func<RunResult, double?> value, string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        var all = new List<double>();
        foreach (var series in runs.GroupBy(r => $"{r.Path}/{r.Format}").OrderBy(g => SeriesOrder(g.Key)))
        {
            var points = series.Where(r => value(r) is > 0).OrderBy(r => r.Viewers).ToList();
            if (points.Count == 0)
                continue;
            var ys = points.Select(r => Math.Log10(value(r)!.Value)).ToArray();
            all.AddRange(ys);
            var scatter = plot.Add.Scatter(points.Select(r => Math.Log10(r.Viewers)).ToArray(), ys);
            scatter.LegendText = series.Key;
            scatter.Color = Colors.GetValueOrDefault(series.Key, Color.FromHex("#555555"));
            scatter.LineWidth = 2;
            scatter.MarkerSize = 8;
        }
        plot.Axes.Bottom.Label.Text = "viewers of the container";
        plot.Axes.Left.Label.Text = yLabel;
        plot.Axes.Bottom.TickGenerator = Decades(runs.Select(r => Math.Log10(Math.Max(1, r.Viewers))).DefaultIfEmpty(0));
        plot.Axes.Left.TickGenerator = Decades(all.DefaultIfEmpty(0));
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot DockerdCpu(IReadOnlyList<RunResult> runs)
    {
        var plot = new Plot();
        plot.Title("dockerd CPU by viewers of one container (line frames)");
        foreach (var series in runs.Where(r => r.Path != "raw" && r.Format == "line").GroupBy(r => (r.Path, r.Rate)).OrderBy(g => g.Key.Path).ThenBy(g => g.Key.Rate))
        {
            var points = series.OrderBy(r => r.Viewers).ToList();
            var scatter = plot.Add.Scatter(points.Select(r => Math.Log10(r.Viewers)).ToArray(), points.Select(r => r.CpuPercent.GetValueOrDefault("dockerd")).ToArray());
            scatter.LegendText = $"{series.Key.Path}, {series.Key.Rate} lines/s";
            var color = Colors.GetValueOrDefault($"{series.Key.Path}/line", Color.FromHex("#555555"));
            scatter.Color = series.Key.Rate >= 1000 ? color : color.WithAlpha(0.45);
            scatter.LineWidth = 2;
            scatter.MarkerSize = 8;
        }
        plot.Axes.Bottom.Label.Text = "viewers of the container";
        plot.Axes.Left.Label.Text = "dockerd CPU (% of one core)";
        plot.Axes.Bottom.TickGenerator = Decades(runs.Select(r => Math.Log10(Math.Max(1, r.Viewers))));
        plot.Axes.SetLimitsY(0, Math.Max(10, runs.Max(r => r.CpuPercent.GetValueOrDefault("dockerd")) * 1.1));
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot Bars(IReadOnlyList<RunResult> runs, Func<RunResult, double> value, string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        var bars = new List<Bar>();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var position = 0.0;
        foreach (var format in runs.Select(r => r.Format).Distinct())
        {
            var start = position;
            foreach (var run in runs.Where(r => r.Format == format).OrderBy(r => SeriesOrder($"{r.Path}/{r.Format}")))
            {
                bars.Add(new Bar { Position = position, Value = value(run), FillColor = Colors.GetValueOrDefault($"{run.Path}/{run.Format}", Color.FromHex("#555555")) });
                ticks.AddMajor(position, run.Path);
                position += 1;
            }
            ticks.AddMajor((start + position - 1) / 2, $"\n\n{format} frames (R={runs.First(r => r.Format == format).Rate}/s)");
            position += 1;
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.Label.Text = yLabel;
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    private static Plot Timeline(IReadOnlyList<RunResult> runs, Func<TimePoint, double> value, string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        foreach (var run in runs)
        {
            var points = run.Timeline;
            if (points.Count == 0)
                continue;
            var scatter = plot.Add.Scatter(points.Select(p => p.T).ToArray(), points.Select(value).ToArray());
            scatter.LegendText = run.Path;
            scatter.Color = Colors.GetValueOrDefault($"{run.Path}/line", Color.FromHex("#555555"));
            scatter.LineWidth = 2;
            scatter.MarkerSize = 0;
        }
        plot.Axes.Bottom.Label.Text = "seconds";
        plot.Axes.Left.Label.Text = yLabel;
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <summary>Ticks at powers of ten (and 2× and 5× between them) for an axis that holds log10 values.</summary>
    private static ScottPlot.TickGenerators.NumericManual Decades(IEnumerable<double> logValues)
    {
        var values = logValues.ToList();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var low = (int)Math.Floor(values.Min());
        var high = (int)Math.Ceiling(values.Max());
        for (var decade = low; decade <= high; decade++)
        {
            foreach (var factor in new[] { 1, 2, 5 })
            {
                var tick = decade + Math.Log10(factor);
                if (tick > high)
                    continue;
                var label = Math.Pow(10, decade) * factor;
                ticks.AddMajor(tick, label >= 1e6 ? $"{label / 1e6:0.#}M" : label >= 1e3 ? $"{label / 1e3:0.#}k" : label.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return ticks;
    }

    private static int SeriesOrder(string key) => key switch
    {
        "legacy/line" => 0, "legacy/batch" => 1, "unified/line" => 2, "unified/batch" => 3, "raw/line" => 4, _ => 5,
    };
}
