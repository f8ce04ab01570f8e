using System.Diagnostics;
using HdrHistogram;
using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Churn: viewers connect to random containers, stay a random moment and leave, for a fixed time, with a steady number
/// open at once. Every session's lines are checked (no gap, no duplicate between its first and last line). Sampled
/// every second: the server's RSS (it must stay flat) and the daemon's log connections. When the last viewer has
/// gone, the daemon's connections must return to zero (after the service's idle grace on the unified path).
/// </summary>
internal static class Churn
{
    /// <summary>The shared service's <c>Pipeline:IdleGrace</c> (see <see cref="BroadcastRun.ServiceDefaults"/>).</summary>
    private static readonly TimeSpan IdleGrace = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(HarnessContext context, TimeSpan duration, int concurrent, int containers, int rate, CancellationToken cancellationToken)
    {
        var runId = context.NextRunId();
        var writers = await StreamSet.CreateAsync(context, runId, containers, rate, 1_000_000_000, 1, cancellationToken);
        writers.Go(1);
        try
        {
            foreach (var target in new[] { Target.Legacy, Target.Unified })
                context.Add(await RunOneAsync(context, writers, target, duration, concurrent, cancellationToken));
        }
        finally
        {
            await writers.RemoveAsync(context);
        }
    }

    private static async Task<RunResult> RunOneAsync(HarnessContext context, StreamSet writers, Target target, TimeSpan duration, int concurrent, CancellationToken cancellationToken)
    {
        var result = new RunResult
        {
            Scenario = "churn", Variant = $"{concurrent} open, {duration.TotalSeconds:0} s", Path = target.Wire(), Format = "line",
            Streams = writers.Names.Length, Rate = writers.Rate,
        };
        var runId = context.NextRunId();
        ServerProcess? server = null;
        var ownServer = false;
        var open = new List<Viewer>();
        try
        {
            (server, ownServer) = await BroadcastRun.AcquireServerAsync(context, runId, target, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), result, cancellationToken);
            result.ServiceRssBaselineMiB = BroadcastRun.MiB(Proc.RssBytes(server.Pid));
            var latency = new LongHistogram(Viewer.MaxLatencyMicros, 2);
            var firstLines = new List<double>();
            long sessions = 0, lines = 0, lost = 0, duplicates = 0, gaps = 0, failed = 0;
            var errors = new Dictionary<string, int>();
            var random = new Random(42);
            var rss = new List<(double T, long Bytes)>();
            await context.Progress.RunAsync($"churn · {target.Wire()}", async status =>
            {
                status("waiting for the machine to be quiet");
                var processes = BroadcastRun.Processes(context, server);
                result.Extra["other_cpu_before_percent"] = await QuietGate.WaitAsync(processes, context.Engine.EngineProcesses, BroadcastRun.QuietLimit(context), cancellationToken);
                var cpu = CpuWindow.Start(processes, context.Engine.EngineProcesses);
                var clock = Stopwatch.StartNew();
                var leaveAt = new Dictionary<Viewer, TimeSpan>();
                var nextSample = TimeSpan.Zero;
                var daemon = 0;
                while (clock.Elapsed < duration)
                {
                    // Leave: viewers whose time is up close their socket, and their session is checked.
                    foreach (var viewer in open.Where(v => leaveAt[v] <= clock.Elapsed).ToList())
                    {
                        open.Remove(viewer);
                        leaveAt.Remove(viewer);
                        await viewer.CloseAsync(TimeSpan.FromSeconds(5));
                        Account(viewer);
                    }
                    // Join: back to the target number, each to a random container with a random tail.
                    var joining = new List<Viewer>();
                    while (open.Count + joining.Count < concurrent)
                    {
                        var stream = writers.Names[random.Next(writers.Names.Length)];
                        var viewer = new Viewer((int)sessions++, new ViewerPlan(BroadcastRun.ViewerUri(context, server, target, stream, false, tail: random.Next(0, 51)), stream, 0));
                        joining.Add(viewer);
                        leaveAt[viewer] = clock.Elapsed + TimeSpan.FromMilliseconds(random.Next(500, 3000));
                    }
                    await BroadcastRun.ConnectAllAsync(context, joining, cancellationToken);
                    open.AddRange(joining);
                    if (clock.Elapsed >= nextSample)
                    {
                        nextSample += TimeSpan.FromSeconds(1);
                        var bytes = Proc.RssBytes(server.Pid);
                        rss.Add((clock.Elapsed.TotalSeconds, bytes));
                        daemon = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
                        result.DaemonConnectionsMax = Math.Max(result.DaemonConnectionsMax, daemon);
                        result.Timeline.Add(new TimePoint(Math.Round(clock.Elapsed.TotalSeconds, 1), 0, BroadcastRun.MiB(bytes), daemon, open.Count));
                        status($"{clock.Elapsed.TotalSeconds,4:0}s  {sessions} sessions  open {open.Count}  daemon conns {daemon}  rss {BroadcastRun.MiB(bytes):0} MiB");
                    }
                    await Task.Delay(50, cancellationToken);
                }
                foreach (var viewer in open)
                    await viewer.CloseAsync(TimeSpan.FromSeconds(5));
                foreach (var viewer in open)
                    Account(viewer);
                open.Clear();
                result.CpuPercent = cpu.Stop();
                BroadcastRun.NoteDisturbance(result);

                // After the last viewer: the daemon's log connections must go back to zero.
                var after = Stopwatch.StartNew();
                var left = -1;
                while (after.Elapsed < IdleGrace + TimeSpan.FromSeconds(20))
                {
                    left = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
                    result.Timeline.Add(new TimePoint(Math.Round(clock.Elapsed.TotalSeconds, 1), 0, BroadcastRun.MiB(Proc.RssBytes(server.Pid)), left, 0));
                    status($"after: daemon conns {left}");
                    if (left == 0)
                        break;
                    await Task.Delay(250, cancellationToken);
                }
                result.DaemonConnectionsAfter = left;
                result.Extra["seconds_to_zero_daemon_connections"] = left == 0 ? Math.Round(after.Elapsed.TotalSeconds, 1) : -1;
                if (left != 0)
                    result.Failures.Add($"{left} daemon log connections still open {after.Elapsed.TotalSeconds:0} s after the last viewer left");
            });

            void Account(Viewer viewer)
            {
                lines += viewer.Lines;
                lost += viewer.Lost;
                duplicates += viewer.Duplicates;
                gaps += viewer.GapMarkers;
                latency.Add(viewer.Latency);
                if (viewer.TimeToFirstLineMs is { } first)
                    firstLines.Add(first);
                if (viewer.Error is { } error)
                {
                    failed++;
                    errors[error] = errors.GetValueOrDefault(error) + 1;
                }
            }

            result.Viewers = (int)sessions;
            result.Deliveries = lines;
            result.Seconds = duration.TotalSeconds;
            result.DeliveriesPerSecond = Math.Round(lines / duration.TotalSeconds);
            result.Lost = lost;
            result.LostKeptUp = lost;
            result.Duplicates = duplicates;
            result.DuplicatesKeptUp = duplicates;
            result.GapMarkers = gaps;
            result.ViewersFailed = (int)failed;
            result.ViewersKeptUp = (int)(sessions - failed);
            result.Latency = Percentiles.From(latency);
            result.FirstLine = Percentiles.From(firstLines);
            result.ServiceRssPeakMiB = BroadcastRun.MiB(rss.Max(r => r.Bytes));
            // Flat: the mean RSS of the last quarter against that of the second quarter (the first is warm-up).
            var quarter = duration.TotalSeconds / 4;
            var second = rss.Where(r => r.T >= quarter && r.T < 2 * quarter).Select(r => (double)r.Bytes).DefaultIfEmpty(0).Average();
            var last = rss.Where(r => r.T >= 3 * quarter).Select(r => (double)r.Bytes).DefaultIfEmpty(0).Average();
            result.Extra["rss_second_quarter_mib"] = Math.Round(second / 1048576, 1);
            result.Extra["rss_last_quarter_mib"] = Math.Round(last / 1048576, 1);
            result.Extra["rss_growth_percent"] = second > 0 ? Math.Round(100 * (last - second) / second, 1) : 0;
            result.Extra["sessions_per_second"] = Math.Round(sessions / duration.TotalSeconds, 1);
            foreach (var (error, count) in errors.Take(3))
                result.Notes.Add($"{count} sessions: {error}");
            if (lost > 0)
                result.Failures.Add($"{lost} lines lost within sessions");
            if (duplicates > 0)
                result.Failures.Add($"{duplicates} duplicated lines within sessions");
            if (!context.Settings.Full && failed > 0)
                result.Failures.Add($"{failed} sessions failed");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = ex.GetBaseException().Message;
        }
        finally
        {
            await BroadcastRun.CloseAllAsync(open);
            if (server is not null && ownServer)
                await server.DisposeAsync();
        }
        return result;
    }
}
