using System.Globalization;
using Spectre.Console;

namespace LogsMigration.Load.Report;

/// <summary>The console's view of the results: one line per run as it ends, a table per scenario at the end.</summary>
internal static class ConsoleReport
{
    public static void PrintRunLine(RunResult r)
    {
        var mark = r.Passed ? "[green]✓[/]" : "[red]✗[/]";
        var text = r.Error is not null
            ? $"error: {r.Error}"
            : $"{r.DeliveriesPerSecond,11:N0} lines/s  p99 {Ms(r.Latency?.P99),8}  kept up {r.ViewersKeptUp}/{r.Viewers}  lost {r.Lost} dup {r.Duplicates} gaps {r.GapMarkers} ({r.GapMissed})  cpu server {Cpu(r, "server")} dockerd {Cpu(r, "dockerd")}";
        AnsiConsole.MarkupLine($"  {mark} {Markup.Escape($"{r.Variant,-16} {r.Path,-7} {r.Format,-5} {text}")}");
        foreach (var failure in r.Failures)
            AnsiConsole.MarkupLine($"      [red]{Markup.Escape(failure)}[/]");
        foreach (var note in r.Notes)
            AnsiConsole.MarkupLine($"      [grey]{Markup.Escape(note)}[/]");
    }

    public static void PrintTables(IReadOnlyList<RunResult> results)
    {
        foreach (var scenario in results.GroupBy(r => r.Scenario))
        {
            var table = new Table().Title($"[bold]{Markup.Escape(scenario.Key)}[/]").Border(TableBorder.Rounded);
            foreach (var column in new[] { "variant", "path", "format", "lines/s", "p50 ms", "p99 ms", "max ms", "first line p99", "kept up", "lost", "dup", "gaps (lines)", "daemon conns", "server cpu %", "dockerd cpu %", "rss MiB", "ok" })
                table.AddColumn(new TableColumn(column).RightAligned());
            foreach (var r in scenario)
            {
                table.AddRow(
                    Markup.Escape(r.Variant), r.Path, r.Format,
                    r.DeliveriesPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                    Ms(r.Latency?.P50), Ms(r.Latency?.P99), Ms(r.Latency?.Max), Ms(r.FirstLine?.P99),
                    $"{r.ViewersKeptUp}/{r.Viewers}", r.Lost.ToString(CultureInfo.InvariantCulture), r.Duplicates.ToString(CultureInfo.InvariantCulture),
                    $"{r.GapMarkers} ({r.GapMissed})", r.Path == "raw" ? "-" : r.DaemonConnectionsMax.ToString(CultureInfo.InvariantCulture),
                    Cpu(r, "server"), Cpu(r, "dockerd"), r.ServiceRssPeakMiB.ToString("0", CultureInfo.InvariantCulture),
                    r.Passed ? "[green]yes[/]" : "[red]NO[/]");
            }
            AnsiConsole.Write(table);
        }
    }

    public static string Ms(double? value) => value is null ? "-" : value.Value.ToString(value < 10 ? "0.00" : value < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);

    public static string Cpu(RunResult r, string process) => r.CpuPercent.TryGetValue(process, out var value) ? value.ToString("0", CultureInfo.InvariantCulture) : "-";
}
