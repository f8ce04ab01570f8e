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
            var before = Proc.RssBytes(server.Pid);
            var heapBefore = target == Target.Raw ? 0 : await HeapBytesAsync(server, cancellationToken);
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
            var after = Proc.RssBytes(server.Pid);
            result.ServiceRssBaselineMiB = BroadcastRun.MiB(before);
            result.ServiceRssAttachedMiB = BroadcastRun.MiB(after);
            result.ServiceRssPeakMiB = result.ServiceRssAttachedMiB;
            result.IdleKiBPerViewer = Math.Round((after - before) / 1024.0 / count, 1);
            if (target != Target.Raw)
            {
                var heapAfter = await HeapBytesAsync(server, cancellationToken);
                result.Extra["heap_kib_per_viewer"] = Math.Round((heapAfter - heapBefore) / 1024.0 / count, 1);
                result.DaemonConnectionsMax = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
            }
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

    /// <summary>The managed heap after the last collection (all generations), from the service's runtime metrics.</summary>
    private static async Task<double> HeapBytesAsync(ServerProcess server, CancellationToken cancellationToken) =>
        PrometheusText.Sum(await server.MetricsAsync(cancellationToken), "dotnet_gc_last_collection_heap_size_bytes");
}
