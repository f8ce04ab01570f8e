using System.Diagnostics;
using System.Runtime.InteropServices;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;
using LogsMigration.Load.Scenarios;
using Spectre.Console;

namespace LogsMigration.Load;

/// <summary>
/// Starts the harness's private Docker engine, runs the scenarios of the mode one after the other (each bounded in
/// count and time), prints the tables, writes the report, and stops the engine whatever happened.
/// </summary>
internal static class Harness
{
    public static async Task<int> RunAsync(HarnessSettings settings)
    {
        using var stop = new CancellationTokenSource();
        // Ctrl-C or a TERM from CI: cancel the scenarios so the engine, containers and servers are cleaned up.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var clock = Stopwatch.StartNew();
        if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = 220;
        if (!File.Exists(settings.ServiceDll))
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(settings.ServiceDll)} is missing: build it first (dotnet build src/Api -c Release).[/]");
            return 2;
        }
        AnsiConsole.MarkupLine($"[bold]LogsMigration load harness[/] · {(settings.Full ? "full" : "quick")} mode · engine '{settings.EngineName}'");
        var plan = settings.Full ? ScenarioPlan.Full : ScenarioPlan.Quick;
        var engine = await DockerEngine.StartAsync(settings.RepoRoot, settings.EngineName, stop.Token);
        using var context = new HarnessContext(settings, engine, new LiveProgress());
        MachineInfo? machine = null;
        try
        {
            machine = await MachineInfo.DescribeAsync(engine, stop.Token);
            var warmup = await StreamSet.CreateAsync(context, "warm", 1, BroadcastRun.WarmUpRate, 1_000_000_000, 1, stop.Token);
            warmup.Go(1);
            context.WarmupStream = warmup.Names[0];
            foreach (var scenario in plan.Where(s => settings.Runs(s.Name)))
            {
                AnsiConsole.MarkupLine($"[bold blue]▶ {scenario.Name}[/] [grey]{Markup.Escape(scenario.Description)}[/]");
                try
                {
                    await scenario.RunAsync(context, stop.Token);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    // One scenario's failure (say, dockerd refusing connections) is reported, and the others still run.
                    context.Add(new RunResult { Scenario = scenario.Name, Variant = "-", Path = "-", Format = "-", Error = ex.GetBaseException().Message });
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[yellow]stopped[/]");
        }
        finally
        {
            await context.StopSharedAsync();
            await ServerProcess.StopAllAsync();
            AnsiConsole.MarkupLine("[grey]stopping the engine…[/]");
            await engine.DisposeAsync();
            // The writers' signal folders (bind mounts) are free once the engine is down. Only this engine's: another
            // harness on the machine (its own engine) may be running, and its writers wait for files in theirs.
            try
            {
                Directory.Delete(HarnessContext.SignalRoot(settings.EngineName), recursive: true);
            }
            catch (IOException)
            {
            }
        }
        var elapsed = clock.Elapsed;
        ConsoleReport.PrintTables(context.Results);
        if (machine is null)
            return 1;
        var report = new BenchmarkReport(settings, machine, context.Results, elapsed);
        var written = await report.WriteAsync(CancellationToken.None);
        AnsiConsole.MarkupLine($"[grey]wrote {Markup.Escape(string.Join(", ", written))}[/]");
        var failed = context.Results.Where(r => !r.Passed).ToList();
        AnsiConsole.MarkupLine($"{context.Results.Count} runs in {elapsed.TotalSeconds:0} s; " + (failed.Count == 0 ? "[green]no lost or duplicated line[/]" : $"[red]{failed.Count} runs failed[/]"));
        foreach (var result in failed)
            AnsiConsole.MarkupLine($"  [red]✗ {Markup.Escape(result.Scenario)} {Markup.Escape(result.Variant)} {result.Path}/{result.Format}: {Markup.Escape(result.Error ?? string.Join("; ", result.Failures))}[/]");
        // For scripts/test.sh, which adds the runs to the suites' closing "N passed, N failed" line.
        Console.WriteLine($"load harness: {context.Results.Count - failed.Count} runs passed, {failed.Count} runs failed");
        if (stop.IsCancellationRequested)
            return 130;
        return failed.Count == 0 ? 0 : 1;
    }
}
