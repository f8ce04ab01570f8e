using System.Diagnostics;
using LogsMigration.Load.Clients;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>
/// The service restarted under its viewers: a container writes numbered lines, the viewers follow it on the unified
/// path, and mid-run the service process is killed (SIGKILL: no shutdown, no goodbye) and started again on the same
/// port. Every viewer reconnects, as a browser tab does, with <c>resume=</c> the <c>cursor</c> of the last
/// <c>log</c> frame it received, and must see every number exactly once from its first line to the last (lost 0,
/// duplicated 0). Without a <c>cursor</c> field in the frames a viewer resumes by <c>epoch:seq</c>, which a new
/// process cannot honour (it is a new epoch): the run then shows the repeats and says why.
/// </summary>
internal static class Restart
{
    /// <summary>The history a reconnecting viewer asks for (the contract's largest): it only matters when the resume point is not honoured.</summary>
    private const int ResumeTail = 1000;

    public static async Task RunAsync(HarnessContext context, int viewerCount, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var lines = (long)(rate * duration.TotalSeconds);
        var result = new RunResult
        {
            Scenario = "restart", Variant = $"N={viewerCount} R={rate} SIGKILL", Path = Target.Unified.Wire(), Format = false.Wire(),
            Streams = 1, Rate = rate, LinesPerStream = lines, Viewers = viewerCount,
        };
        var runId = context.NextRunId();
        StreamSet? writers = null;
        ServerProcess? server = null;
        ServerProcess? restarted = null;
        var viewers = new List<Viewer>();
        try
        {
            // Its own service (it is killed), started with the same configuration as the others' and warmed up.
            var creating = StreamSet.CreateAsync(context, runId, 1, rate, lines, 1, cancellationToken);
            var starting = BroadcastRun.StartServerAsync(context, runId, Target.Unified, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), result, cancellationToken);
            try
            {
                writers = await creating;
            }
            finally
            {
                server = await starting;
            }
            var stream = writers.Names[0];
            var (phase, first, last) = writers.NextPhase();
            for (var i = 0; i < viewerCount; i++)
            {
                var uri = BroadcastRun.ViewerUri(context, server, Target.Unified, stream, false, tail: 0);
                var resumeBase = BroadcastRun.ViewerUri(context, server, Target.Unified, stream, false, tail: ResumeTail);
                viewers.Add(new Viewer(i, new ViewerPlan(uri, stream, last, first)
                {
                    ResumeUri = resume => resume is null ? resumeBase : new Uri($"{resumeBase}&resume={Uri.EscapeDataString(resume)}"),
                }));
            }

            await context.Progress.RunAsync($"restart N={viewerCount} R={rate} · unified · line", async status =>
            {
                status($"connecting {viewerCount} viewers");
                await BroadcastRun.ConnectAllAsync(context, viewers, cancellationToken);
                if (viewers.FirstOrDefault(v => v.Error is not null) is { } failed)
                    throw new InvalidOperationException($"a viewer failed to connect: {failed.Error}");
                await WaitAsync(async () => (await server.StreamsAsync(cancellationToken)).Subscribers >= viewerCount, TimeSpan.FromSeconds(30),
                    "every viewer to attach", status, cancellationToken);

                var go = Stopwatch.GetTimestamp();
                writers.Go(phase);
                // Mid-run: once every viewer has a third of the lines, so each resumes from a point of its own.
                await WaitAsync(() => Task.FromResult(viewers.All(v => v.LastLine >= first + (last - first) / 3)), duration,
                    "a third of the lines at every viewer", status, cancellationToken);
                result.Extra["killed_after_lines_min"] = viewers.Min(v => v.LastLine);
                result.Extra["killed_after_lines_max"] = viewers.Max(v => v.LastLine);
                status("killing the service");
                var killed = Stopwatch.GetTimestamp();
                await server.KillAsync();
                restarted = await StartAgainAsync(context, runId, server.Port, cancellationToken);
                result.Extra["restart_seconds"] = Math.Round(Stopwatch.GetElapsedTime(killed).TotalSeconds, 2);

                // The writer went on while the service was down: from here, at most its whole run plus the slack of the
                // other scenarios (a loaded machine can take many seconds to start a process; that is not the service's).
                var deadline = Stopwatch.GetElapsedTime(go) + duration + TimeSpan.FromSeconds(15);
                var peak = await BroadcastRun.MonitorAsync(context, restarted, Target.Unified, viewers, go, deadline, result, status, cancellationToken);
                result.ServiceRssPeakMiB = BroadcastRun.MiB(peak);
                BroadcastRun.Summarize(result, viewers, go, strict: true);
                Judge(result, viewers);
            });
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
            if (restarted is not null)
                await restarted.DisposeAsync();
            if (writers is not null)
                await writers.RemoveAsync(context);
        }
        context.Add(result);
    }

    /// <summary>
    /// The service again on its predecessor's port, with the same configuration and no warm-up (the viewers are
    /// already knocking). The port can take a moment to be free again: a start that fails is tried again.
    /// </summary>
    private static async Task<ServerProcess> StartAgainAsync(HarnessContext context, string runId, int port, CancellationToken cancellationToken)
    {
        var configuration = new Dictionary<string, string>(BroadcastRun.ServiceDefaults);
        var attempts = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ServerProcess.StartServiceAsync(context.Settings, context.Engine, context.Tokens, configuration,
                    context.LogFile(runId, $"service-restarted-{attempt}"), cancellationToken, port);
            }
            catch (InvalidOperationException) when (attempts.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }
    }

    /// <summary>The run's verdict: every viewer resumed and saw every number exactly once; repeats without a cursor are explained.</summary>
    private static void Judge(RunResult result, List<Viewer> viewers)
    {
        var byCursor = viewers.Sum(v => v.ResumedByCursor);
        var bySequence = viewers.Sum(v => v.ResumedBySequence);
        result.Extra["reconnects"] = viewers.Sum(v => v.Reconnects);
        result.Extra["resumed_by_cursor"] = byCursor;
        result.Extra["resumed_by_epoch_seq"] = bySequence;
        if (viewers.Count(v => v.Reconnects == 0) is > 0 and var never)
            result.Failures.Add($"{never} viewers never reconnected: the restart did not reach them");
        // Exactly once, whatever the gap markers say: a marker explains a loss, it does not make it none. (Summarize
        // has already failed the run for lines lost or repeated without a marker.)
        var missing = viewers.Sum(v => v.MissedAtStart + v.Skipped);
        if (missing > result.Lost)
            result.Failures.Add($"{missing - result.Lost} lines missing across the restart (gap markers said so)");
        if (result.Duplicates > result.DuplicatesKeptUp)
            result.Failures.Add($"{result.Duplicates - result.DuplicatesKeptUp} lines seen twice across the restart by viewers that got a gap marker");
        if (bySequence > 0)
            result.Notes.Add($"{bySequence} reconnects had no cursor to resume from (no 'cursor' field in the log frames) and resumed by epoch:seq, which a restarted service cannot honour");
        if (viewers.Where(v => v.LastDisconnect is not null).GroupBy(v => v.LastDisconnect).MaxBy(g => g.Count()) is { } how)
            result.Notes.Add($"{how.Count()} viewers' connections ended with: {how.Key}");
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds; fails the run after <paramref name="timeout"/>.</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Action<string> status, CancellationToken cancellationToken)
    {
        status($"waiting for {what}");
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds:0} s");
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }
}
