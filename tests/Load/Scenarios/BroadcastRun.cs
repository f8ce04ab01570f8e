using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HdrHistogram;
using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Raw;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// One run of the common shape: S writer containers, V viewers on each, every viewer attached before the writers start;
/// or, when the shared writers are a Compose project (<see cref="StreamSet.Project"/>), V viewers of the whole project
/// on the stack route, each expecting every line of every member.
/// </summary>
internal sealed record BroadcastSpec
{
    public required string Scenario { get; init; }
    public required string Variant { get; init; }
    public required Target Target { get; init; }
    public required bool Batch { get; init; }
    public int Streams { get; init; } = 1;
    public required int ViewersPerStream { get; init; }
    /// <summary>Lines per second per writer.</summary>
    public required int Rate { get; init; }
    /// <summary>Lines each writer prints in the run.</summary>
    public required long Lines { get; init; }
    public int SlowViewers { get; init; }
    public TimeSpan SlowPause { get; init; }
    public long SlowPauseAfterLines { get; init; } = 100;
    /// <summary>Slow viewers that keep reading, this long after every frame, instead of pausing (<see cref="ViewerPlan.ReadDelay"/>).</summary>
    public TimeSpan SlowReadDelay { get; init; }
    /// <summary>Time allowed past the writers' own duration before the run is cut.</summary>
    public TimeSpan Slack { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Service configuration (environment variables) for this run.</summary>
    public IReadOnlyDictionary<string, string> Service { get; init; } = new Dictionary<string, string>();
    /// <summary>Writers shared with other runs (the run takes their next phase); null: this run makes its own.</summary>
    public StreamSet? Shared { get; init; }
    /// <summary>Line length: the padding repeated this many times (1: about 70 bytes of text).</summary>
    public int Padding { get; init; } = 1;
    /// <summary>Queue and batch limits of the raw broadcaster (the service's defaults unless a scenario changes the service's too).</summary>
    public Raw.RawServerSettings RawSettings { get; init; } = new();

    public string Title => $"{Scenario} {Variant} · {Target.Wire()} · {Batch.Wire()}";
}

/// <summary>
/// Runs a <see cref="BroadcastSpec"/>: writers, a fresh server process, viewers connected and attached, then the
/// writers started and every line of every viewer checked, with the server's and dockerd's CPU, the server's memory
/// and the daemon's log connections measured from outside while it runs.
/// </summary>
internal static class BroadcastRun
{
    private const int ConnectParallelism = 32;

    /// <summary>
    /// Runs the spec; in the full mode, a run that other processes disturbed is run once more (while the harness is
    /// within its time budget) and the less disturbed of the two is kept, with a note.
    /// </summary>
    public static async Task<RunResult> MeasureAsync(HarnessContext context, BroadcastSpec spec, CancellationToken cancellationToken)
    {
        var result = await RunAsync(context, spec, cancellationToken);
        if (!context.Settings.Full || spec.Shared is not null || !context.MayRetry || Other(result) < QuietGate.QuietPercent)
            return result;
        Spectre.Console.AnsiConsole.MarkupLine($"    [yellow]{Spectre.Console.Markup.Escape(spec.Title)}: other processes used {Other(result):0}% of a core; running it again[/]");
        var again = await RunAsync(context, spec, cancellationToken);
        var (kept, dropped) = Other(again) <= Other(result) ? (again, result) : (result, again);
        kept.Notes.Add($"run twice: the other attempt was disturbed more (other processes {Other(dropped):0}% of a core)");
        return kept;
    }

    private static double Other(RunResult result) => result.Error is not null ? double.MaxValue : result.CpuPercent.GetValueOrDefault("other");

    public static async Task<RunResult> RunAsync(HarnessContext context, BroadcastSpec spec, CancellationToken cancellationToken)
    {
        var result = new RunResult
        {
            Scenario = spec.Scenario, Variant = spec.Variant, Path = spec.Target.Wire(), Format = spec.Batch.Wire(),
            Streams = spec.Streams, Rate = spec.Rate, LinesPerStream = spec.Lines, SlowViewers = spec.SlowViewers,
        };
        var runId = context.NextRunId();
        var owned = spec.Shared is null;
        StreamSet? writers = null;
        ServerProcess? server = null;
        var ownServer = false;
        var metricsBefore = "";
        var viewers = new List<Viewer>();
        try
        {
            // The writers and the server start side by side: each takes a second or so.
            var creating = spec.Shared is null ? StreamSet.CreateAsync(context, runId, spec.Streams, spec.Rate, spec.Lines, 1, cancellationToken, spec.Padding) : Task.FromResult(spec.Shared);
            var starting = AcquireServerAsync(context, runId, spec.Target, spec.Batch, spec.Service, spec.RawSettings, result, cancellationToken);
            try
            {
                writers = await creating;
            }
            finally
            {
                (server, ownServer) = await starting;
            }
            var (phase, first, last) = writers.NextPhase();
            if (spec.Target == Target.Raw)
                (first, last) = (1, spec.Lines);
            var baseline = Proc.RssBytes(server.Pid);
            result.ServiceRssBaselineMiB = MiB(baseline);

            // Stacks exist only on the unified path: there is no legacy stack route and no raw stack to compare.
            var stack = writers.Project;
            if (stack is not null && spec.Target != Target.Unified)
                throw new ArgumentException($"a stack run is unified only, not {spec.Target.Wire()}");
            var resources = stack is null ? writers.Names : [stack];
            var total = resources.Length * spec.ViewersPerStream;
            var slowEvery = spec.SlowViewers > 0 ? Math.Max(1, total / spec.SlowViewers) : 0;
            for (var i = 0; i < total; i++)
            {
                var stream = resources[i % resources.Length];
                var slow = slowEvery > 0 && i % slowEvery == 0 && i / slowEvery < spec.SlowViewers;
                var uri = stack is null ? ViewerUri(context, server, spec.Target, stream, spec.Batch, tail: 0) : StackUri(context, server, stack, spec.Batch, tail: 0);
                viewers.Add(new Viewer(i, new ViewerPlan(uri, stream, last, first, slow ? spec.SlowPauseAfterLines : 0, slow ? spec.SlowPause : TimeSpan.Zero,
                    slow ? spec.SlowReadDelay : TimeSpan.Zero) { Members = stack is null ? 0 : writers.Names.Length }));
            }
            result.Viewers = total;

            await context.Progress.RunAsync(spec.Title, async status =>
            {
                status($"connecting {total} viewers");
                await ConnectAllAsync(context, viewers, cancellationToken);
                CheckConnected(spec.Target, viewers, result);
                // A stack's viewers are attached once the stack has opened a read of each member (a daemon connection each).
                await WaitAttachedAsync(context, server, spec.Target, total, result, status, cancellationToken, stack is null ? 0 : writers.Names.Length);
                var attached = Proc.RssBytes(server.Pid);
                result.ServiceRssAttachedMiB = MiB(attached);
                // The service may be shared with earlier runs: its counters are read before and after, and differenced.
                metricsBefore = spec.Target.IsRaw() ? "" : await server.MetricsAsync(cancellationToken);
                result.IdleKiBPerViewer = Math.Round((attached - baseline) / 1024.0 / total, 1);

                status("waiting for the machine to be quiet");
                var processes = Processes(context, server);
                result.Extra["other_cpu_before_percent"] = await QuietGate.WaitAsync(processes, context.Engine.EngineProcesses, QuietLimit(context), cancellationToken);
                if (spec.Target == Target.RawDocker)
                    await StartDockerFollowsAsync(context, server, writers.Names, last, cancellationToken);
                var cpu = CpuWindow.Start(processes, context.Engine.EngineProcesses);
                var go = Stopwatch.GetTimestamp();
                writers.Go(phase);
                if (spec.Target == Target.Raw)
                    await StartRawWritersAsync(server, writers.Names, spec.Rate, spec.Lines, cancellationToken, spec.Padding);
                var deadline = TimeSpan.FromSeconds(spec.Lines / (double)spec.Rate) + spec.Slack + spec.SlowPause;
                var peak = await MonitorAsync(context, server, spec.Target, viewers, go, deadline, result, status, cancellationToken);
                result.CpuPercent = cpu.Stop();
                result.Extra["cpu_window_seconds"] = Math.Round(Stopwatch.GetElapsedTime(go).TotalSeconds, 3);
                NoteDisturbance(result);
                result.ServiceRssPeakMiB = MiB(peak);
                result.PeakKiBPerViewer = Math.Round((peak - baseline) / 1024.0 / total, 1);
                Summarize(result, viewers, go, strict: !context.Settings.Full);
            });
            if (!spec.Target.IsRaw())
                await ReadServiceMetricsAsync(server, spec.Target, metricsBefore, result, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error = ex.GetBaseException().Message;
        }
        finally
        {
            await CloseAllAsync(viewers);
            if (spec.Target == Target.RawDocker && server is not null && writers is not null)
                await StopDockerFollowsAsync(server, writers.Names);
            if (viewers.Count(v => v.CloseTimedOut) is > 0 and var timedOut)
                result.Notes.Add($"{timedOut} viewers' close handshakes timed out (aborted)");
            await Task.WhenAll(
                server is null || !ownServer ? Task.CompletedTask : server.DisposeAsync().AsTask(),
                owned && writers is not null ? writers.RemoveAsync(context) : Task.CompletedTask);
        }
        return result;
    }

    /// <summary>Service configuration every run gets unless it sets its own: streams go 1 s after their last viewer, so each run starts with none.</summary>
    public static readonly IReadOnlyDictionary<string, string> ServiceDefaults = new Dictionary<string, string> { ["Pipeline__IdleGrace"] = "00:00:01" };

    /// <summary>
    /// A fresh server for one run, switched to the run's path and warmed up: two viewers read the warm-up writer for a
    /// moment in the run's frame format, so the run measures steady code, not the JIT compiling it; then the run
    /// waits for the warm-up's daemon connections to close, so it starts from none.
    /// </summary>
    public static async Task<ServerProcess> StartServerAsync(HarnessContext context, string runId, Target target, bool batch, IReadOnlyDictionary<string, string> service, Raw.RawServerSettings raw, RunResult result, CancellationToken cancellationToken, bool warmAll = false)
    {
        var configuration = new Dictionary<string, string>(ServiceDefaults);
        foreach (var (name, value) in service)
            configuration[name] = value;
        var server = target.IsRaw()
            ? await ServerProcess.StartRawAsync(context.Settings, raw, context.LogFile(runId, "raw"), cancellationToken)
            : await ServerProcess.StartServiceAsync(context.Settings, context.Engine, context.Tokens, configuration, context.LogFile(runId, "service"), cancellationToken);
        try
        {
            var warm = context.WarmupStream;
            // A shared server is warmed on every path and format it will serve; a one-off server on its own.
            var rounds = warmAll
                ? (target.IsRaw() ? new[] { (Target.Raw, false), (Target.Raw, true) } : [(Target.Legacy, false), (Target.Unified, false), (Target.Legacy, true), (Target.Unified, true)])
                : [(target, batch)];
            var each = context.Settings.Full ? WarmUp : QuickWarmUp;
            if (target.IsRaw())
                await StartRawWritersAsync(server, [warm], WarmUpRate, (long)(WarmUpRate * (each.TotalSeconds * rounds.Length + 5)), cancellationToken);
            foreach (var (path, format) in rounds)
            {
                await PrepareAsync(context, server, path, result, cancellationToken);
                var warmers = Enumerable.Range(0, WarmUpViewers).Select(i => new Viewer(-1 - i, new ViewerPlan(ViewerUri(context, server, path, warm, format, tail: 10), warm, 0))).ToList();
                await ConnectAllAsync(context, warmers, cancellationToken);
                await Task.Delay(each, cancellationToken);
                await CloseAllAsync(warmers);
                if (warmers.Sum(v => v.Lines) == 0)
                    result.Notes.Add($"warm-up viewers ({path.Wire()}/{format.Wire()}) got no line");
            }
            await PrepareAsync(context, server, target, result, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Readies a (possibly shared) server for a run: the service is switched to the run's path (for new connections,
    /// through the admin API) and the run waits until no stream and no daemon connection is left from before, so
    /// every run starts from none.
    /// </summary>
    public static async Task PrepareAsync(HarnessContext context, ServerProcess server, Target target, RunResult result, CancellationToken cancellationToken)
    {
        if (target.IsRaw())
            return;
        await server.SetContainerPathAsync(target == Target.Unified, cancellationToken);
        var waited = Stopwatch.StartNew();
        int connections;
        while ((connections = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken)) > 0 && waited.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(250, cancellationToken);
        if (connections > 0)
            result.Notes.Add($"{connections} daemon connections still open from before the run");
    }

    /// <summary>The server of a run: the shared one for the default configuration, else a fresh one (the caller disposes it).</summary>
    public static async Task<(ServerProcess Server, bool Owned)> AcquireServerAsync(HarnessContext context, string runId, Target target, bool batch, IReadOnlyDictionary<string, string> service, Raw.RawServerSettings raw, RunResult result, CancellationToken cancellationToken)
    {
        if (service.Count > 0 || raw != new Raw.RawServerSettings())
            return (await StartServerAsync(context, runId, target, batch, service, raw, result, cancellationToken), true);
        var server = target.IsRaw() ? await context.SharedRawAsync(cancellationToken) : await context.SharedServiceAsync(cancellationToken);
        await PrepareAsync(context, server, target, result, cancellationToken);
        return (server, false);
    }

    private const int WarmUpViewers = 20;
    /// <summary>The warm-up container's rate (lines/s), which the raw broadcaster's warm-up stream copies.</summary>
    public const int WarmUpRate = 200;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan QuickWarmUp = TimeSpan.FromSeconds(1);

    /// <summary>How long a measuring run waits for other processes to quiet down before it starts anyway (the quick mode checks correctness only and does not wait).</summary>
    public static TimeSpan QuietLimit(HarnessContext context) => context.Settings.Full ? TimeSpan.FromSeconds(20) : TimeSpan.Zero;

    /// <summary>The processes a run measures by name: the server, dockerd and this harness (the viewers).</summary>
    public static Dictionary<string, int> Processes(HarnessContext context, ServerProcess server) =>
        new() { ["server"] = server.Pid, ["dockerd"] = context.Engine.DaemonPid, ["viewers"] = Environment.ProcessId };

    /// <summary>Flags a run during which someone else's processes took a real share of the machine.</summary>
    public static void NoteDisturbance(RunResult result)
    {
        if (result.CpuPercent.TryGetValue("other", out var other) && other >= QuietGate.QuietPercent)
            result.Notes.Add($"disturbed: other processes on the machine used {other:0}% of a core during this run");
    }

    public static Uri ViewerUri(HarnessContext context, ServerProcess server, Target target, string stream, bool batch, int tail)
    {
        var format = batch ? "&format=batch" : "";
        return target.IsRaw()
            ? new Uri($"{server.WsBase}/ws/raw/{stream}?tail={tail}{format}")
            : new Uri($"{server.WsBase}/ws/containers/{stream}/logs?token={context.ViewerToken}&tail={tail}&timestamps=false{format}");
    }

    /// <summary>A viewer of a whole stack (here a Compose project) on the service's default host.</summary>
    public static Uri StackUri(HarnessContext context, ServerProcess server, string stack, bool batch, int tail) =>
        new($"{server.WsBase}/ws/stacks/{stack}/logs?token={context.ViewerToken}&host_id={ServerProcess.DefaultHost}&tail={tail}&timestamps=false{(batch ? "&format=batch" : "")}");

    public static async Task ConnectAllAsync(HarnessContext context, IEnumerable<Viewer> viewers, CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(viewers, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = cancellationToken }, async (viewer, ct) =>
        {
            await viewer.ConnectAsync(viewer.Plan.Slow ? context.SlowViewers : context.Viewers, ct);
            try
            {
                await viewer.Connected.WaitAsync(TimeSpan.FromSeconds(60), ct);
            }
            catch (TimeoutException)
            {
                viewer.Fail("no connected frame within 60 s");
            }
        });
    }

    private static void CheckConnected(Target target, List<Viewer> viewers, RunResult result)
    {
        var failed = viewers.Where(v => v.Error is not null).ToList();
        if (failed.Count > 0)
            result.Notes.Add($"{failed.Count} viewers failed to connect, e.g. {failed[0].Error}");
        var wrongPath = viewers.Count(v => v.Error is null && v.Path != target.ConnectedPath());
        if (wrongPath > 0)
            result.Failures.Add($"{wrongPath} viewers were served by another path than {target.ConnectedPath()} (connected.path)");
        // The harness's engine is no Swarm manager: its stack can only be the Compose project the run made.
        var notCompose = viewers.Count(v => v.Error is null && v.Plan.Members > 0 && v.StackKind != "compose");
        if (notCompose > 0)
            result.Failures.Add($"{notCompose} stack viewers were not answered by a Compose project (connected.stack_kind)");
    }

    /// <summary>
    /// <c>connected</c> is sent before the server subscribes the client, so wait until every viewer is attached before
    /// the writers start: the service's own count for the unified path, the daemon's count of log connections for the
    /// legacy path (one each), the broadcaster's count for the raw one.
    /// </summary>
    /// <param name="daemonConnections">Daemon connections the server must hold too (a stack's member reads); 0: none asked.</param>
    private static async Task WaitAttachedAsync(HarnessContext context, ServerProcess server, Target target, int expected, RunResult result, Action<string> status, CancellationToken cancellationToken, int daemonConnections = 0)
    {
        var connected = expected;
        var limit = Stopwatch.StartNew();
        var budget = TimeSpan.FromSeconds(30) + TimeSpan.FromMilliseconds(30 * expected);
        var attached = 0;
        var reads = 0;
        while (limit.Elapsed < budget)
        {
            attached = target switch
            {
                Target.Unified => (await server.StreamsAsync(cancellationToken)).Subscribers,
                Target.Legacy => await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken),
                _ => (await server.Http.GetFromJsonAsync<JsonObject>("stats", cancellationToken))?["clients"]?.GetValue<int>() ?? 0,
            };
            if (daemonConnections > 0)
                reads = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
            status(daemonConnections > 0 ? $"{attached}/{connected} attached, {reads}/{daemonConnections} member reads open" : $"{attached}/{connected} attached");
            if (attached >= connected && reads >= daemonConnections)
                break;
            await Task.Delay(200, cancellationToken);
        }
        if (attached < connected)
            result.Notes.Add($"only {attached} of {connected} viewers attached after {budget.TotalSeconds:0} s; started anyway");
        if (reads < daemonConnections)
            result.Notes.Add($"only {reads} daemon connections for {daemonConnections} stack members after {budget.TotalSeconds:0} s; started anyway");
        // The legacy count includes the connection being opened, not yet following: let the last requests land.
        await Task.Delay(500, cancellationToken);
    }

    /// <summary>raw+docker: the broadcaster opens one Docker follow per container, each open before its writer starts.</summary>
    private static async Task StartDockerFollowsAsync(HarnessContext context, ServerProcess server, IEnumerable<string> streams, long last, CancellationToken cancellationToken)
    {
        foreach (var stream in streams)
        {
            using var response = await server.Http.PostAsync($"follow/{stream}?socket={Uri.EscapeDataString(context.Engine.SocketPath)}&last={last}", null, cancellationToken);
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>raw+docker: the run's follows end with it, whether it read every line or failed (the raw server is shared).</summary>
    private static async Task StopDockerFollowsAsync(ServerProcess server, IEnumerable<string> streams)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var stream in streams)
        {
            try
            {
                using var response = await server.Http.DeleteAsync($"follow/{stream}", bounded.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // A server that is gone took its follows with it.
            }
        }
    }

    public static async Task StartRawWritersAsync(ServerProcess server, IEnumerable<string> streams, int rate, long lines, CancellationToken cancellationToken, int padding = 1)
    {
        foreach (var stream in streams)
        {
            using var response = await server.Http.PostAsync($"go/{stream}?rate={rate}&lines={lines}&padding={padding}", null, cancellationToken);
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Samples progress every half second until every viewer is done or the deadline passes; returns the server's peak RSS.</summary>
    public static async Task<long> MonitorAsync(HarnessContext context, ServerProcess server, Target target, List<Viewer> viewers, long go, TimeSpan deadline, RunResult result, Action<string> status, CancellationToken cancellationToken)
    {
        long peak = 0, lastLines = 0;
        var lastSample = Stopwatch.GetTimestamp();
        var daemon = 0;
        var sample = 0;
        var allDone = Task.WhenAll(viewers.Select(v => v.Done));
        while (true)
        {
            var finished = await Task.WhenAny(allDone, Task.Delay(500, cancellationToken)) == allDone;
            var elapsed = Stopwatch.GetElapsedTime(go);
            var lines = viewers.Sum(v => v.Lines);
            var now = Stopwatch.GetTimestamp();
            var rate = (lines - lastLines) / Stopwatch.GetElapsedTime(lastSample, now).TotalSeconds;
            (lastLines, lastSample) = (lines, now);
            var rss = Proc.RssBytes(server.Pid);
            peak = Math.Max(peak, rss);
            if (target != Target.Raw && sample++ % 4 == 0)
            {
                daemon = await context.Engine.ConnectionsFromAsync(server.Pid, cancellationToken);
                result.DaemonConnectionsMax = Math.Max(result.DaemonConnectionsMax, daemon);
            }
            if (target == Target.Unified)
            {
                // The service's own figures beside its RSS: what its replay buffers and queues hold, and the budget.
                var (replay, queued, limit) = await server.BuffersAsync(cancellationToken);
                result.Extra["buffered_mib_max"] = Math.Max(result.Extra.GetValueOrDefault("buffered_mib_max"), MiB(replay + queued));
                result.Extra["queued_mib_max"] = Math.Max(result.Extra.GetValueOrDefault("queued_mib_max"), MiB(queued));
                result.Extra["buffer_limit_mib"] = MiB(limit);
            }
            var done = viewers.Count(v => v.IsDone);
            result.Timeline.Add(new TimePoint(Math.Round(elapsed.TotalSeconds, 2), Math.Round(rate), Math.Round(MiB(rss), 1), daemon, viewers.Count - done));
            status($"{elapsed.TotalSeconds,5:0.0}s  {lines:N0} lines delivered  {rate:N0}/s  done {done}/{viewers.Count}  rss {MiB(rss):0} MiB");
            if (finished)
                break;
            if (elapsed > deadline)
            {
                result.Notes.Add($"cut at the deadline ({deadline.TotalSeconds:0} s after the writers started) with {viewers.Count - done} viewers still behind");
                break;
            }
        }
        return peak;
    }

    public static void Summarize(RunResult result, IReadOnlyCollection<Viewer> viewers, long go, bool strict)
    {
        var fast = new LongHistogram(Viewer.MaxLatencyMicros, 2);
        var slow = new LongHistogram(Viewer.MaxLatencyMicros, 2);
        foreach (var viewer in viewers)
            (viewer.Plan.Slow ? slow : fast).Add(viewer.Latency);
        result.Latency = Percentiles.From(fast);
        result.LatencySlow = Percentiles.From(slow);
        result.FirstLine = Percentiles.From(viewers.Where(v => v.FirstLineAt != 0)
            .Select(v => Stopwatch.GetElapsedTime(Math.Max(v.ConnectStarted, go), v.FirstLineAt).TotalMilliseconds).ToList());
        result.Deliveries = viewers.Sum(v => v.Lines);
        var end = viewers.Select(v => v.LastLineAt).DefaultIfEmpty(0).Max();
        result.Seconds = end > go ? Math.Round(Stopwatch.GetElapsedTime(go, end).TotalSeconds, 2) : 0;
        result.DeliveriesPerSecond = result.Seconds > 0 ? Math.Round(result.Deliveries / result.Seconds) : 0;
        // The steady rate: the median of the half-second samples while every viewer was still receiving.
        var steady = result.Timeline.Where(p => p.T >= 1 && p.Viewers == viewers.Count).Select(p => p.DeliveriesPerSecond).Order().ToArray();
        if (steady.Length > 0)
            result.Extra["steady_deliveries_per_second"] = steady[steady.Length / 2];
        result.ViewersKeptUp = viewers.Count(v => v.KeptUp);
        result.ViewersBehind = viewers.Count(v => v.Behind > 0);
        result.ViewersFailed = viewers.Count(v => v.Error is not null);
        result.Lost = viewers.Sum(v => v.Lost);
        result.LostKeptUp = viewers.Where(v => v.KeptUp).Sum(v => v.Lost);
        result.Duplicates = viewers.Sum(v => v.Duplicates);
        result.DuplicatesKeptUp = viewers.Where(v => v.KeptUp).Sum(v => v.Duplicates);
        result.GapMarkers = viewers.Sum(v => v.GapMarkers);
        result.GapMissed = viewers.Sum(v => v.GapMissed);
        result.Behind = viewers.Sum(v => v.Behind);
        result.BatchFrames = viewers.Sum(v => v.BatchFrames);
        var lineFrames = viewers.Sum(v => v.LineFrames);
        result.LinesPerFrame = lineFrames > 0 ? Math.Round(result.Deliveries / (double)lineFrames, 1) : 0;
        // Frames that carried at least one line, all viewers (not connected, heartbeats, gap markers alone, notices or
        // the end): what the server's sends of lines cost is per frame.
        result.Extra["frames"] = lineFrames;
        result.Extra["frames_per_second"] = result.Seconds > 0 ? Math.Round(lineFrames / result.Seconds) : 0;
        // CPU per delivered line, µs: the figure the ceilings are compared on (what a line cost, whatever the rate reached).
        if (result.Deliveries > 0 && result.Extra.TryGetValue("cpu_window_seconds", out var window))
        {
            foreach (var process in new[] { "server", "viewers", "dockerd" })
            {
                if (result.CpuPercent.TryGetValue(process, out var percent))
                    result.Extra[$"{process}_us_per_line"] = Math.Round(percent / 100 * window / result.Deliveries * 1e6, 3);
            }
        }
        if (result.Format == "batch")
            result.BatchServed = result.Deliveries == 0 ? null : result.BatchFrames > 0;
        var reference = viewers.Where(v => v.KeptUp && v.LastLine > v.FirstLine).MaxBy(v => v.LastLine - v.FirstLine)
            ?? viewers.Where(v => v.LastLine > v.FirstLine).MaxBy(v => v.LastLine - v.FirstLine);
        if (reference is not null && reference.LastLineStamp > reference.FirstLineStamp)
            result.AchievedRate = Math.Round((reference.LastLine - reference.FirstLine) / ((reference.LastLineStamp - reference.FirstLineStamp) / 1e9), 1);
        if (viewers.Any(v => v.Plan.Members > 0))
        {
            // A stack: every line must name the member that wrote it. Order is reported, not judged: the stack merges
            // in timestamp order only within Docker:ServiceMergeWindow.
            var misattributed = viewers.Sum(v => v.Misattributed);
            result.Extra["stack_members"] = viewers.Max(v => v.Plan.Members);
            result.Extra["stack_lines_misattributed"] = misattributed;
            result.Extra["stack_lines_out_of_order"] = viewers.Sum(v => v.OutOfOrder);
            if (misattributed > 0)
                result.Failures.Add($"{misattributed} stack lines whose metadata.service_name named another member than the one that wrote them");
        }
        var unknown = viewers.Sum(v => v.UnknownEntries);
        if (unknown > 0)
            result.Notes.Add($"{unknown} frames or entries the viewers did not recognise");
        foreach (var error in viewers.Where(v => v.Error is not null).GroupBy(v => v.Error).Take(3))
            result.Notes.Add($"{error.Count()} viewers: {error.Key}");

        if (result.LostKeptUp > 0)
            result.Failures.Add($"{result.LostKeptUp} lines lost by viewers that kept up");
        if (result.DuplicatesKeptUp > 0)
            result.Failures.Add($"{result.DuplicatesKeptUp} duplicated lines at viewers that kept up");
        if (result.Lost > result.LostKeptUp)
            result.Failures.Add($"{result.Lost - result.LostKeptUp} lines missing with no gap marker at viewers that fell behind");
        if (result.BatchServed == false)
            result.Failures.Add("format=batch was asked for but every line came in its own frame");
        if (strict)
        {
            // Quick mode runs loads this machine handles with room to spare: a normal viewer that has not had every
            // line by the deadline, or fails, is a bug there, not a measurement.
            var normal = viewers.Where(v => !v.Plan.Slow).ToList();
            if (normal.Count(v => v.Behind > 0) is > 0 and var behind)
                result.Failures.Add($"{behind} viewers had not received every line by the deadline");
            if (viewers.Count(v => v.Error is not null) is > 0 and var errors)
                result.Failures.Add($"{errors} viewers failed: {viewers.First(v => v.Error is not null).Error}");
            if (viewers.Where(v => v.Plan.Slow).Sum(v => v.Duplicates) is > 0 and var slowDuplicates)
                result.Failures.Add($"{slowDuplicates} duplicated lines at slow viewers");
        }
    }

    /// <summary>The service's own counters over the run (after minus before: the service may be shared with earlier runs).</summary>
    private static async Task ReadServiceMetricsAsync(ServerProcess server, Target target, string before, RunResult result, CancellationToken cancellationToken)
    {
        var after = await server.MetricsAsync(cancellationToken);
        var path = $"path=\"{target.Wire()}\"";
        double Delta(string name, params string[] labels) => PrometheusText.Sum(after, name, labels) - PrometheusText.Sum(before, name, labels);
        result.ServiceFirstLine = PrometheusText.HistogramMs(after, "logs_first_line_duration_seconds", path);
        result.Extra["service_entries_dropped"] = Delta("logs_entries_dropped_total", path);
        result.Extra["service_clients_stalled"] = Delta("logs_clients_stalled_total", path);
        result.Extra["gc_pause_seconds"] = Math.Round(Delta("dotnet_gc_pause_time_seconds_total"), 3);
        result.Extra["gc_collections"] = Delta("dotnet_gc_collections_total");
        result.Extra["lock_contentions"] = Delta("dotnet_monitor_lock_contentions_total");
        result.Extra["allocated_mib"] = Math.Round(Delta("dotnet_gc_heap_total_allocated_bytes_total") / 1048576, 1);
    }

    public static async Task CloseAllAsync(IEnumerable<Viewer> viewers) =>
        await Parallel.ForEachAsync(viewers, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (viewer, _) => await viewer.CloseAsync(TimeSpan.FromSeconds(5)));

    public static double MiB(long bytes) => Math.Round(bytes / 1048576.0, 1);

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
