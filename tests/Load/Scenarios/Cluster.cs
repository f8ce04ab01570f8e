using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Three instances of the service (unified path) behind the real HAProxy running the shipped
/// <c>deploy/haproxy/haproxy.cfg</c> (docs/scale-out.md), against the harness's engine: K containers write numbered
/// lines at R lines/s, V viewers of each connect through the proxy. Measured as the other scenarios are (lines/s,
/// latency, lost/dup, gaps, daemon log connections counted from the daemon's side), and then, once every viewer has a
/// third of its lines, the busiest instance is killed (SIGKILL): its viewers reconnect through HAProxy with the
/// <c>cursor</c> of their last line, as the <c>restart</c> scenario's do, and land on the other two. Reported: the
/// recovery time (the kill to each moved viewer's next line), lost/dup after the move (must be 0), and the daemon log
/// connections once recovered (back to K: one per resource in the cluster).
/// </summary>
internal static class Cluster
{
    private const int Instances = 3;
    /// <summary>The history a reconnecting viewer asks for (as in <c>restart</c>): only used when its cursor is not honoured.</summary>
    private const int ResumeTail = 1000;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>What every instance behind the proxy gets, as <c>scripts/cluster.sh</c> sets it (the resolve cache on).</summary>
    private static Dictionary<string, string> Configuration(int instance) => new(BroadcastRun.ServiceDefaults)
    {
        ["Streaming__InstanceId"] = $"i{instance}",
        ["Pipeline__ResolveCacheTtl"] = "00:00:05",
    };

    public static async Task RunAsync(HarnessContext context, int resources, int viewersEach, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var lines = (long)(rate * duration.TotalSeconds);
        var total = resources * viewersEach;
        var result = new RunResult
        {
            Scenario = "cluster", Variant = $"K={resources} V={viewersEach} R={rate} 3 inst kill -9", Path = Target.Unified.Wire(), Format = false.Wire(),
            Streams = resources, Rate = rate, LinesPerStream = lines, Viewers = total,
        };
        var runId = context.NextRunId();
        StreamSet? writers = null;
        var instances = new ServerProcess?[Instances];
        Haproxy? proxy = null;
        var viewers = new List<Viewer>();
        try
        {
            var creating = StreamSet.CreateAsync(context, runId, resources, rate, lines, 1, cancellationToken);
            var starting = Enumerable.Range(1, Instances).Select(async i => instances[i - 1] = await StartInstanceAsync(context, runId, i, cancellationToken)).ToList();
            try
            {
                writers = await creating;
            }
            finally
            {
                // Every started instance is recorded (and disposed below) even when one of them fails.
                await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            }
            await Task.WhenAll(starting);
            var live = instances.Select(i => i!).ToList();
            proxy = await Haproxy.StartAsync(context.Settings.RepoRoot, live.Select(i => i.Port).ToList(),
                Path.Combine(context.SignalDir(runId), "haproxy"), context.LogFile(runId, "haproxy"), cancellationToken);
            var (phase, first, last) = writers.NextPhase();
            foreach (var (stream, index) in Enumerable.Range(0, total).Select(i => (writers.Names[i % resources], i)))
            {
                var uri = ViewerUri(context, proxy, stream, tail: 0);
                var resumeBase = ViewerUri(context, proxy, stream, tail: ResumeTail);
                viewers.Add(new Viewer(index, new ViewerPlan(uri, stream, last, first)
                {
                    ResumeUri = resume => resume is null ? resumeBase : new Uri($"{resumeBase}&resume={Uri.EscapeDataString(resume)}"),
                }));
            }

            await context.Progress.RunAsync($"cluster K={resources} V={viewersEach} R={rate} · 3 instances behind HAProxy", async status =>
            {
                await WaitAsync(async () => (await proxy.ServersAsync(cancellationToken)).Values.Count(s => s.Up) == Instances, TimeSpan.FromSeconds(30),
                    "HAProxy to have every instance up", status, cancellationToken);
                status($"connecting {total} viewers through HAProxy");
                await BroadcastRun.ConnectAllAsync(context, viewers, cancellationToken);
                if (viewers.FirstOrDefault(v => v.Error is not null) is { } failed)
                    throw new InvalidOperationException($"a viewer failed to connect through HAProxy: {failed.Error}");
                if (viewers.Count(v => v.Path != Target.Unified.Wire()) is > 0 and var wrongPath)
                    result.Failures.Add($"{wrongPath} viewers were served by another path than unified (connected.path)");
                await WaitAsync(async () => (await Task.WhenAll(live.Select(i => i.StreamsAsync(cancellationToken)))).Sum(s => s.Subscribers) >= total,
                    TimeSpan.FromSeconds(30), "every viewer to attach", status, cancellationToken);
                NoteSplitResources(result, viewers, "before the kill");
                result.Extra["daemon_connections_before_kill"] = await DaemonLogReadsAsync(context, live, cancellationToken);

                var processes = live.Select((s, i) => ($"i{i + 1}", s.Pid)).Append(("haproxy", proxy.Pid)).Append(("dockerd", context.Engine.DaemonPid))
                    .Append(("viewers", Environment.ProcessId)).ToDictionary(p => p.Item1, p => p.Item2);
                var cpu = CpuWindow.Start(processes, context.Engine.EngineProcesses);
                var go = Stopwatch.GetTimestamp();
                writers.Go(phase);
                await using var monitor = Monitor.Start(context, live, viewers, go, result, status, cancellationToken);

                // Mid-run: once every viewer has a third of its lines, so each resumes from a point of its own; at the
                // latest a third into the writers' run (every viewer with a line at least), so that on a machine too
                // busy to keep up the kill still comes while the writers write, not after the viewers have it all.
                var third = first + (last - first) / 3;
                await WaitAsync(() => Task.FromResult(viewers.All(v => v.LastLine >= third) || (Stopwatch.GetElapsedTime(go) >= duration / 3 && viewers.All(v => v.LastLine > 0))),
                    duration, "a line at every viewer", status, cancellationToken);
                result.Extra["killed_after_seconds"] = Math.Round(Stopwatch.GetElapsedTime(go).TotalSeconds, 2);
                // The busiest instance by the viewers' own connected.instance: no call to an instance between the
                // decision and the kill (on a loaded machine an admin call can take seconds, and the run would end first).
                var victimId = viewers.Where(v => v.Instance is not null && !v.IsDone).GroupBy(v => v.Instance!).MaxBy(g => g.Count())?.Key
                    ?? throw new InvalidOperationException("no viewer had lines still to come at the kill");
                var victim = instances[int.Parse(victimId[1..], CultureInfo.InvariantCulture) - 1]!;
                // The viewers the kill moves: those it served that still had lines to come.
                var moving = viewers.Where(v => v.Instance == victimId && !v.IsDone).ToList();
                if (viewers.Count(v => v.Instance == victimId && v.IsDone) is > 0 and var finished)
                    result.Notes.Add($"{finished} viewers of the killed instance already had every line");
                var before = viewers.ToDictionary(v => v, v => (v.Lost, v.Duplicates, v.GapMissed));
                result.Extra["killed_after_lines_min"] = viewers.Min(v => v.LastLine);
                status($"killing {victimId} ({moving.Count} viewers)");
                var killed = Stopwatch.GetTimestamp();
                await victim.KillAsync();
                live.Remove(victim);
                monitor.Live = [.. live];

                var deadline = Stopwatch.GetElapsedTime(go) + duration + TimeSpan.FromSeconds(20);
                var allDone = Task.WhenAll(viewers.Select(v => v.Done));
                while (!allDone.IsCompleted && Stopwatch.GetElapsedTime(go) < deadline)
                    await Task.WhenAny(allDone, Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken));
                await monitor.DisposeAsync();
                if (monitor.LastCountError is { } countError)
                    result.Notes.Add($"{result.Extra["daemon_count_failures"]} daemon counts failed during the run, the last with: {countError}");
                if (!allDone.IsCompleted)
                    result.Notes.Add($"cut at the deadline ({deadline.TotalSeconds:0} s after the writers started) with {viewers.Count(v => !v.IsDone)} viewers still behind");
                result.CpuPercent = cpu.Stop();
                // The instances' CPU in one figure, as "server" in the other scenarios (the killed one's is lost with it).
                result.CpuPercent["server"] = Math.Round(Enumerable.Range(1, Instances).Sum(i => result.CpuPercent.GetValueOrDefault($"i{i}")), 1);
                BroadcastRun.NoteDisturbance(result);
                result.ServiceRssPeakMiB = BroadcastRun.MiB(monitor.PeakRss);
                // As every scenario: the quick mode fails a viewer that falls behind; the full mode measures it (gap markers).
                BroadcastRun.Summarize(result, viewers, go, strict: !context.Settings.Full);
                // Resources that still have a viewer connected (a viewer of the killed instance that had every line
                // does not reconnect): the cluster should hold one daemon log read for each.
                var watched = viewers.Where(v => v.Instance != victimId || v.Reconnects > 0).Select(v => v.Plan.Stream).Distinct().Count();

                await JudgeRecoveryAsync(context, proxy, live, viewers, moving, before, killed, victimId, watched, result, status, cancellationToken);
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = ex.GetBaseException().Message;
            // The whole trace beside the instances' and the proxy's logs.
            await File.WriteAllTextAsync(context.LogFile(runId, "error"), ex.ToString(), CancellationToken.None);
        }
        finally
        {
            await BroadcastRun.CloseAllAsync(viewers);
            if (proxy is not null)
                await proxy.DisposeAsync();
            await Task.WhenAll(instances.Where(i => i is not null).Select(i => i!.DisposeAsync().AsTask()));
            if (writers is not null)
                await writers.RemoveAsync(context);
        }
        context.Add(result);
    }

    /// <summary>
    /// The verdict on the move: every viewer of the killed instance reconnected and had a new line (its recovery time),
    /// none lost or repeated a line after the move, and the cluster is back to one daemon log read per resource.
    /// </summary>
    private static async Task JudgeRecoveryAsync(HarnessContext context, Haproxy proxy, List<ServerProcess> survivors, List<Viewer> viewers, List<Viewer> moved,
        Dictionary<Viewer, (long Lost, long Duplicates, long GapMissed)> before, long killed, string victimId, int resources, RunResult result, Action<string> status, CancellationToken cancellationToken)
    {
        result.Extra["moved_viewers"] = moved.Count;
        if (moved.Count == 0)
            result.Failures.Add($"no viewer was on the killed instance {victimId}: nothing was moved");
        if (moved.Count(v => v.Reconnects == 0) is > 0 and var stayed)
            result.Failures.Add($"{stayed} viewers of the killed instance never reconnected");
        var recovery = moved.Where(v => v.FirstLineAfterReconnectAt > killed).Select(v => Stopwatch.GetElapsedTime(killed, v.FirstLineAfterReconnectAt).TotalMilliseconds).ToList();
        if (moved.Count - recovery.Count is > 0 and var silent)
            result.Failures.Add($"{silent} viewers of the killed instance had no new line after reconnecting");
        if (Percentiles.From(recovery) is { } r)
        {
            result.Extra["recovery_ms_p50"] = r.P50;
            result.Extra["recovery_ms_max"] = r.Max;
        }
        var lostAfter = moved.Sum(v => v.Lost - before[v].Lost);
        var dupAfter = moved.Sum(v => v.Duplicates - before[v].Duplicates);
        result.Extra["lost_after_move"] = lostAfter;
        result.Extra["dup_after_move"] = dupAfter;
        if (lostAfter > 0 || dupAfter > 0)
            result.Failures.Add($"after the move: {lostAfter} lines lost, {dupAfter} seen twice by the moved viewers");
        // Exactly once across the move, whatever gap markers say (as in restart): a resume by cursor reads from the
        // daemon, so a marker after the move is a loss too; in the full mode a viewer that cannot keep up on a busy
        // machine is told so by markers (as in every scenario), which is noted, not failed.
        var gapsAfter = moved.Sum(v => v.GapMissed - before[v].GapMissed);
        result.Extra["gap_lines_after_move"] = gapsAfter;
        if (gapsAfter > 0)
        {
            var message = $"{gapsAfter} lines the moved viewers were told they missed (gap markers) after the move";
            if (context.Settings.Full)
                result.Notes.Add(message + ": they fell behind (queue overflow), see the latency");
            else
                result.Failures.Add(message);
        }
        var others = viewers.Except(moved).Count(v => v.Reconnects > 0);
        result.Extra["resources_watched_after"] = resources;
        result.Extra["other_viewers_reconnected"] = others;
        result.Extra["resumed_by_cursor"] = viewers.Sum(v => v.ResumedByCursor);
        NoteSplitResources(result, viewers, "after the move");

        // Back to one read per resource: the moved resources' reads are open on the survivors, none is left twice.
        status("waiting for the daemon log reads to settle");
        var reads = -1;
        var settling = Stopwatch.StartNew();
        while (settling.Elapsed < TimeSpan.FromSeconds(30) && (reads = await DaemonLogReadsAsync(context, survivors, cancellationToken)) != resources)
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        result.DaemonConnectionsAfter = reads;
        result.Extra["daemon_connections_after_recovery"] = reads;
        var servers = await proxy.ServersAsync(cancellationToken);
        var flapped = servers.Where(s => s.Key != victimId && s.Value.Downs > 0).Select(s => s.Key).ToList();
        if (reads != resources)
        {
            // A surviving instance marked down by a check that timed out on a loaded machine moves its viewers too, one
            // by one, and a resource may then be served by two instances for a while (docs/scale-out.md, "Not guaranteed").
            var message = $"{reads} daemon log reads on the survivors 30 s after the kill, for {resources} resources";
            if (flapped.Count > 0)
                result.Notes.Add($"{message}: HAProxy also marked {string.Join(", ", flapped)} down during the run (a slow health check), which moved viewers on its own");
            else
                result.Failures.Add(message);
        }
        else if (flapped.Count > 0)
        {
            result.Notes.Add($"HAProxy also marked {string.Join(", ", flapped)} down during the run (a slow health check)");
        }
        result.Notes.Add(Invariant($"kill -9 of {victimId}: {moved.Count} viewers moved, back with a new line after p50 {result.Extra.GetValueOrDefault("recovery_ms_p50"):0} ms, max {result.Extra.GetValueOrDefault("recovery_ms_max"):0} ms; lost {lostAfter} dup {dupAfter} after the move; daemon log reads {result.Extra["daemon_connections_before_kill"]} before, {reads} after recovery (for {resources} resources watched); {others} other viewers reconnected"));
    }

    /// <summary>Every viewer of a resource should be on one instance (the stick table); a note says when they are not.</summary>
    private static void NoteSplitResources(RunResult result, List<Viewer> viewers, string when)
    {
        var split = viewers.Where(v => v.Instance is not null).GroupBy(v => v.Plan.Stream).Count(g => g.Select(v => v.Instance).Distinct().Count() > 1);
        result.Extra[$"resources_split_{when.Replace(' ', '_')}"] = split;
        if (split > 0)
            result.Notes.Add($"{split} resources had viewers on two instances {when}");
    }

    /// <summary>
    /// The daemon log reads the instances hold, counted from the daemon's side (the kernel's socket table, as every
    /// scenario counts them), less the one events watch each holds for its resolve cache once it has resolved a name
    /// (as the cluster integration tests count them).
    /// </summary>
    private static async Task<int> DaemonLogReadsAsync(HarnessContext context, IEnumerable<ServerProcess> instances, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var instance in instances)
        {
            var connections = await context.Engine.ConnectionsFromAsync(instance.Pid, cancellationToken);
            var admin = await instance.Http.GetFromJsonAsync<JsonObject>("admin/streams", cancellationToken);
            var resolves = admin?["resolve"]?["source_calls"]?.GetValue<long>() ?? 0;
            total += connections - (resolves > 0 ? 1 : 0);
        }
        return total;
    }

    /// <summary>One instance: started, switched to the unified path, warmed up on the warm-up writer, and left with no stream.</summary>
    private static async Task<ServerProcess> StartInstanceAsync(HarnessContext context, string runId, int instance, CancellationToken cancellationToken)
    {
        var server = await ServerProcess.StartServiceAsync(context.Settings, context.Engine, context.Tokens, Configuration(instance),
            context.LogFile(runId, $"instance-{instance}"), cancellationToken);
        try
        {
            await server.SetContainerPathAsync(unified: true, cancellationToken);
            var warm = context.WarmupStream;
            var warmers = Enumerable.Range(0, 5).Select(i => new Viewer(-1 - i, new ViewerPlan(
                new Uri($"{server.WsBase}/ws/containers/{warm}/logs?token={context.ViewerToken}&tail=10&timestamps=false"), warm, 0))).ToList();
            await BroadcastRun.ConnectAllAsync(context, warmers, cancellationToken);
            await Task.Delay(context.Settings.Full ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(1), cancellationToken);
            await BroadcastRun.CloseAllAsync(warmers);
            var waited = Stopwatch.StartNew();
            while ((await server.StreamsAsync(cancellationToken)).Streams > 0 && waited.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(Poll, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Uri ViewerUri(HarnessContext context, Haproxy proxy, string stream, int tail) =>
        new($"{proxy.WsBase}/ws/containers/{stream}/logs?token={context.ViewerToken}&tail={tail}&timestamps=false");

    /// <summary>
    /// Samples of the run in the background, so that nothing the scenario waits for (the kill, the end) waits for a
    /// sample: every half second the deliveries per second and the instances' RSS, and back to back the daemon log reads
    /// (each count runs a script and asks every instance, which on a loaded machine can take seconds).
    /// </summary>
    private sealed class Monitor : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _samples = Task.CompletedTask;
        private Task _daemon = Task.CompletedTask;
        private volatile int _lastDaemon;

        private Monitor(ServerProcess[] live) => Live = live;

        /// <summary>The instances still running (replaced after the kill).</summary>
        public volatile ServerProcess[] Live;
        public long PeakRss { get; private set; }
        public string? LastCountError { get; private set; }

        public static Monitor Start(HarnessContext context, IEnumerable<ServerProcess> live, List<Viewer> viewers, long go, RunResult result, Action<string> status, CancellationToken cancellationToken)
        {
            var monitor = new Monitor([.. live]);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, monitor._stop.Token).Token;
            monitor._samples = Task.Run(() => monitor.SampleAsync(viewers, go, result, status, stop), CancellationToken.None);
            monitor._daemon = Task.Run(() => monitor.CountAsync(context, result, stop), CancellationToken.None);
            return monitor;
        }

        private async Task SampleAsync(List<Viewer> viewers, long go, RunResult result, Action<string> status, CancellationToken cancellationToken)
        {
            long lastLines = 0;
            var lastSample = Stopwatch.GetTimestamp();
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var now = Stopwatch.GetTimestamp();
                var lines = viewers.Sum(v => v.Lines);
                var rate = (lines - lastLines) / Stopwatch.GetElapsedTime(lastSample, now).TotalSeconds;
                (lastLines, lastSample) = (lines, now);
                var rss = Live.Select(i => Proc.RssBytes(i.Pid)).DefaultIfEmpty(0).Max();
                PeakRss = Math.Max(PeakRss, rss);
                var done = viewers.Count(v => v.IsDone);
                var elapsed = Stopwatch.GetElapsedTime(go);
                lock (result)
                    result.Timeline.Add(new TimePoint(Math.Round(elapsed.TotalSeconds, 2), Math.Round(rate), BroadcastRun.MiB(rss), _lastDaemon, viewers.Count - done));
                status($"{elapsed.TotalSeconds,5:0.0}s  {lines:N0} lines delivered  {rate:N0}/s  done {done}/{viewers.Count}  reconnects {viewers.Sum(v => v.Reconnects)}  daemon log reads {_lastDaemon}");
            }
        }

        private async Task CountAsync(HarnessContext context, RunResult result, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var counting = Stopwatch.StartNew();
                    _lastDaemon = await DaemonLogReadsAsync(context, Live, cancellationToken);
                    lock (result)
                    {
                        result.DaemonConnectionsMax = Math.Max(result.DaemonConnectionsMax, _lastDaemon);
                        result.Extra["daemon_count_seconds_max"] = Math.Max(result.Extra.GetValueOrDefault("daemon_count_seconds_max"), Math.Round(counting.Elapsed.TotalSeconds, 2));
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or System.Text.Json.JsonException)
                {
                    // The instance just killed, asked before it left the list: the next count goes without it.
                    lock (result)
                    {
                        result.Extra["daemon_count_failures"] = result.Extra.GetValueOrDefault("daemon_count_failures") + 1;
                        LastCountError = ex.GetBaseException().Message;
                    }
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_stop.IsCancellationRequested)
                return;
            await _stop.CancelAsync();
            await Task.WhenAll(_samples, _daemon);
            _stop.Dispose();
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the run after <paramref name="timeout"/>.</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Action<string> status, CancellationToken cancellationToken)
    {
        status($"waiting for {what}");
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds:0} s");
            await Task.Delay(Poll, cancellationToken);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
