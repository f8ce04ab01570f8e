using LogsMigration.Load;
using LogsMigration.Load.Raw;

// The load harness (docs/benchmarks.md; one command: scripts/load.sh).
//   quick|full [--only scenario,…] [--out DIR]   scenarios against the real service, legacy vs unified vs raw
//   report [--out DIR]                           rewrite docs/benchmarks.md and its plots from docs/benchmarks/results.json
//   raw-server --port P …                        the raw ceiling broadcaster (started by the harness itself)
//   pipeline-fanout [subscribers] [entries]      the shared pipeline's in-process fan-out ceiling (no sockets, no Docker)
var command = args.FirstOrDefault() ?? "pipeline-fanout";
switch (command)
{
    case "pipeline-fanout":
        var subscribers = args.Length > 1 ? int.Parse(args[1]) : 1000;
        var entries = args.Length > 2 ? int.Parse(args[2]) : 10_000;
        return await PipelineFanOutBenchmark.RunAsync(subscribers, entries, TimeSpan.FromMinutes(2));
    case "raw-server":
        return await RawBroadcaster.RunAsync(args[1..]);
    case "quick" or "full":
        return await Harness.RunAsync(HarnessSettings.Parse(args));
    case "report":
        return await LogsMigration.Load.Report.ReportCommand.RunAsync(HarnessSettings.Parse(["full", .. args[1..]]));
    default:
        Console.Error.WriteLine($"Unknown command '{command}'. Known: quick, full, raw-server, pipeline-fanout.");
        return 2;
}
