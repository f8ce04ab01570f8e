using LogsMigration.Load;

// The load harness. Scenarios against the real service come with the load-harness issue; for now it measures the
// shared pipeline's in-process fan-out ceiling.
//   dotnet run -c Release --project tests/Load -- pipeline-fanout [subscribers] [entries]
var scenario = args.FirstOrDefault() ?? "pipeline-fanout";
switch (scenario)
{
    case "pipeline-fanout":
        var subscribers = args.Length > 1 ? int.Parse(args[1]) : 1000;
        var entries = args.Length > 2 ? int.Parse(args[2]) : 10_000;
        return await PipelineFanOutBenchmark.RunAsync(subscribers, entries, TimeSpan.FromMinutes(2));
    default:
        Console.Error.WriteLine($"Unknown scenario '{scenario}'. Known: pipeline-fanout.");
        return 2;
}
