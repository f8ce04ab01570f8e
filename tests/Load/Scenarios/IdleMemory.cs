using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Memory per idle subscriber: many viewers of a container that prints nothing. The server's RSS and managed heap are
/// read with no viewer (after the warm-up) and with all of them attached; the difference per viewer is what an idle
/// browser tab costs the service.
/// </summary>
internal static class IdleMemory
{
    public static async Task RunAsync(HarnessContext context, int viewers, CancellationToken cancellationToken)
    {
        var writers = await StreamSet.CreateAsync(context, context.NextRunId(), 1, 0, 0, 1, cancellationToken);
        try
        {
            foreach (var target in new[] { Target.Legacy, Target.Unified, Target.Raw })
                context.Add(await RunOneAsync(context, writers.Names[0], target, viewers, cancellationToken));
        }
        finally
        {
            await writers.RemoveAsync(context);
        }
    }

    private static async Task<RunResult> RunOneAsync(HarnessContext context, string stream, Target target, int count, CancellationToken cancellationToken)
    {
        var result = new RunResult { Scenario = "idle-memory", Variant = $"N={count}", Path = target.Wire(), Format = "line", Streams = 1, Viewers = count };
        var runId = context.NextRunId();
        ServerProcess? server = null;
        var viewers = new List<Viewer>();
        try
        {
            server = await BroadcastRun.StartServerAsync(context, runId, target, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), result, cancellationToken);
            await Task.Delay(1000, cancellationToken);
            await CollectAsync(server, result, "before", cancellationToken);
            var before = Proc.RssBytes(server.Pid);
            var heapBefore = await HeapBytesAsync(server, cancellationToken);
            viewers.AddRange(Enumerable.Range(0, count).Select(i => new Viewer(i, new ViewerPlan(BroadcastRun.ViewerUri(context, server, target, stream, false, tail: 0), stream, 0))));
            await context.Progress.RunAsync($"idle-memory · {target.Wire()}", async status =>
            {
                status($"connecting {count}");
                await BroadcastRun.ConnectAllAsync(context, viewers, cancellationToken);
                status($"settling (server pid {server.Pid})");
                // LOAD_IDLE_HOLD_SECONDS keeps the viewers attached longer, to take a heap dump of the server by hand.
                var hold = int.TryParse(Environment.GetEnvironmentVariable("LOAD_IDLE_HOLD_SECONDS"), out var seconds) ? seconds : 3;
                await Task.Delay(TimeSpan.FromSeconds(hold), cancellationToken);
            });
            // Without a collection, what connecting left behind (about as much again as a session keeps) would be
            // counted as the sessions' own until the runtime happens to collect.
            var uncollected = Proc.RssBytes(server.Pid);
            await CollectAsync(server, result, "after", cancellationToken);
            var after = Proc.RssBytes(server.Pid);
            result.ServiceRssBaselineMiB = BroadcastRun.MiB(before);
            result.ServiceRssAttachedMiB = BroadcastRun.MiB(after);
            result.ServiceRssPeakMiB = Math.Max(BroadcastRun.MiB(uncollected), result.ServiceRssAttachedMiB);
            result.IdleKiBPerViewer = Math.Round((after - before) / 1024.0 / count, 1);
            result.Extra["rss_kib_per_viewer_before_gc"] = Math.Round((uncollected - before) / 1024.0 / count, 1);
            var heapAfter = await HeapBytesAsync(server, cancellationToken);
            result.Extra["heap_kib_per_viewer"] = Math.Round((heapAfter - heapBefore) / 1024.0 / count, 1);
            if (target != Target.Raw)
                result.DaemonConnectionsMax = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
            result.ViewersFailed = viewers.Count(v => v.Error is not null);
            result.ViewersKeptUp = count - result.ViewersFailed;
            if (result.ViewersFailed > 0)
                result.Notes.Add($"{result.ViewersFailed} viewers failed: {viewers.First(v => v.Error is not null).Error}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = ex.GetBaseException().Message;
        }
        finally
        {
            await BroadcastRun.CloseAllAsync(viewers);
            if (server is not null)
                await server.DisposeAsync();
        }
        return result;
    }

    /// <summary>A full collection in the server, induced from outside; noted in the result if it could not be seen.</summary>
    private static async Task CollectAsync(ServerProcess server, RunResult result, string when, CancellationToken cancellationToken)
    {
        var gen2 = await Gen2CollectionsAsync(server, cancellationToken);
        if (!await InducedGc.CollectAsync(server.Pid, async () => await Gen2CollectionsAsync(server, cancellationToken) > gen2, TimeSpan.FromSeconds(15), cancellationToken))
            result.Notes.Add($"the induced full collection {when} the viewers was not seen within 15 s");
    }

    private static async Task<double> Gen2CollectionsAsync(ServerProcess server, CancellationToken cancellationToken) =>
        PrometheusText.Sum(await server.MetricsAsync(cancellationToken), "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\"");

    /// <summary>The managed heap after the last collection (all generations), from the server's runtime metrics.</summary>
    private static async Task<double> HeapBytesAsync(ServerProcess server, CancellationToken cancellationToken) =>
        PrometheusText.Sum(await server.MetricsAsync(cancellationToken), "dotnet_gc_last_collection_heap_size_bytes");
}
