using System.Diagnostics;
using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Late joiners: a container streams to a few viewers; then more viewers arrive one by one, each asking for the last
/// 100 lines (<c>tail=100</c>). On the unified path their first line comes from the shared stream's replay buffer;
/// on the legacy path from a new read of the daemon. Each joiner's lines are checked across the seam between its
/// history and the live lines (no gap, no duplicate), and its time to first line is measured two ways: from starting
/// to connect (handshake, token, resolving the container, subscribing) and from the <c>connected</c> frame (the
/// subscription and the first send: the part the replay buffer serves).
/// </summary>
internal static class LateJoiners
{
    public const int Tail = 100;

    public static async Task RunAsync(HarnessContext context, int baseViewers, int joiners, TimeSpan interval, int rate, CancellationToken cancellationToken)
    {
        foreach (var target in new[] { Target.Legacy, Target.Unified })
            context.Add(await RunOneAsync(context, target, baseViewers, joiners, interval, rate, cancellationToken));
    }

    private static async Task<RunResult> RunOneAsync(HarnessContext context, Target target, int baseViewers, int joiners, TimeSpan interval, int rate, CancellationToken cancellationToken)
    {
        var result = new RunResult { Scenario = "late-joiners", Variant = $"{joiners} joiners R={rate}", Path = target.Wire(), Format = "line", Rate = rate, Streams = 1 };
        var runId = context.NextRunId();
        // The writer runs through the joiners' arrival and a few seconds more.
        var seconds = 2 + joiners * interval.TotalSeconds + 3;
        var lines = (long)(rate * seconds);
        result.LinesPerStream = lines;
        var writers = await StreamSet.CreateAsync(context, runId, 1, rate, lines, 1, cancellationToken);
        var stream = writers.Names[0];
        ServerProcess? server = null;
        var ownServer = false;
        var all = new List<Viewer>();
        try
        {
            (server, ownServer) = await BroadcastRun.AcquireServerAsync(context, runId, target, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), result, cancellationToken);
            var baseline = Proc.RssBytes(server.Pid);
            result.ServiceRssBaselineMiB = BroadcastRun.MiB(baseline);
            var first = Enumerable.Range(0, baseViewers)
                .Select(i => new Viewer(i, new ViewerPlan(BroadcastRun.ViewerUri(context, server, target, stream, false, tail: 0), stream, lines, ExpectedFirstLine: 1)))
                .ToList();
            all.AddRange(first);
            var late = new List<Viewer>();
            var metricsBefore = "";
            await context.Progress.RunAsync($"late-joiners · {target.Wire()}", async status =>
            {
                await BroadcastRun.ConnectAllAsync(context, first, cancellationToken);
                await Task.Delay(1000, cancellationToken);
                status("waiting for the machine to be quiet");
                var processes = BroadcastRun.Processes(context, server);
                result.Extra["other_cpu_before_percent"] = await QuietGate.WaitAsync(processes, context.Engine.EngineProcesses, BroadcastRun.QuietLimit(context), cancellationToken);
                var cpu = CpuWindow.Start(processes, context.Engine.EngineProcesses);
                var go = Stopwatch.GetTimestamp();
                metricsBefore = target == Target.Raw ? "" : await server.MetricsAsync(cancellationToken);
                writers.Go(1);
                // Let the replay buffer fill past the tail before the first joiner comes.
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1.5, 2.0 * Tail / rate)), cancellationToken);
                for (var i = 0; i < joiners; i++)
                {
                    var viewer = new Viewer(baseViewers + i, new ViewerPlan(BroadcastRun.ViewerUri(context, server, target, stream, false, tail: Tail), stream, lines));
                    late.Add(viewer);
                    all.Add(viewer);
                    await viewer.ConnectAsync(context.Viewers, cancellationToken);
                    status($"{i + 1}/{joiners} joined");
                    await Task.Delay(interval, cancellationToken);
                }
                var deadline = TimeSpan.FromSeconds(seconds + 10);
                var peak = await BroadcastRun.MonitorAsync(context, server, target, all, go, deadline, result, status, cancellationToken);
                result.CpuPercent = cpu.Stop();
                BroadcastRun.NoteDisturbance(result);
                result.ServiceRssPeakMiB = BroadcastRun.MiB(peak);
                result.Viewers = all.Count;
                BroadcastRun.Summarize(result, all, go, strict: !context.Settings.Full);
            });
            // The figure of this scenario is the joiners' own.
            result.FirstLine = Percentiles.From(late.Where(v => v.FirstLineAt != 0).Select(v => v.TimeToFirstLineMs!.Value).ToList());
            var afterConnected = late.Where(v => v.FirstLineAt != 0 && v.ConnectedAt != 0).Select(v => Stopwatch.GetElapsedTime(v.ConnectedAt, v.FirstLineAt).TotalMilliseconds).ToList();
            if (Percentiles.From(afterConnected) is { } fromConnected)
            {
                result.Extra["first_line_after_connected_p50_ms"] = fromConnected.P50;
                result.Extra["first_line_after_connected_p99_ms"] = fromConnected.P99;
                result.Extra["first_line_after_connected_max_ms"] = fromConnected.Max;
            }
            var shortHistory = late.Count(v => v.FirstLine > 0 && v.Lines < Tail);
            if (shortHistory > 0)
                result.Notes.Add($"{shortHistory} joiners got fewer than {Tail} lines in all");
            var metrics = await server.MetricsAsync(cancellationToken);
            result.ServiceFirstLine = PrometheusText.HistogramMs(metrics, "logs_first_line_duration_seconds", $"path=\"{target.Wire()}\"");
            // In the service, from asking the pipeline for the subscription to sending its first line: the joiners'
            // own (recorded while they joined), served from the replay buffer on the unified path.
            var origin = target == Target.Unified ? "replay" : "upstream";
            if (PrometheusText.HistogramDeltaMs(metricsBefore, metrics, "logs_subscribed_first_line_duration_seconds", $"path=\"{target.Wire()}\"", $"origin=\"{origin}\"") is { } subscribed)
            {
                result.Extra["service_subscribed_first_line_count"] = subscribed.Count;
                result.Extra["service_subscribed_first_line_p50_ms"] = subscribed.P50;
                result.Extra["service_subscribed_first_line_p99_ms"] = subscribed.P99;
            }
            result.Extra["history_requests_replay"] = PrometheusText.Sum(metrics, "logs_history_requests_total", "origin=\"replay\"");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = ex.GetBaseException().Message;
        }
        finally
        {
            await BroadcastRun.CloseAllAsync(all);
            if (server is not null && ownServer)
                await server.DisposeAsync();
            await writers.RemoveAsync(context);
        }
        return result;
    }
}
