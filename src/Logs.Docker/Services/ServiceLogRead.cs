using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Services;

/// <summary>
/// One read of one Swarm service's logs, as the daemon sends them (replicas interleaved, not yet in timestamp order:
/// <see cref="MergedRead"/> does that). Lines are read with <c>details=1</c> so each names its task; the task's replica
/// slot and name come from the task list (<see cref="ServiceTaskDirectory"/>). A followed read ends when the service is
/// removed (the daemon does not end it: <see cref="ServiceRemovalWatcher"/>). The daemon's in-stream errors (for example
/// "incomplete log stream … node … not available") mean lines of some task are missing: each becomes a
/// <see cref="SourceRecord.IncompleteMarker"/> in its place, and the read goes on with the other tasks, as the daemon's
/// does. The daemon closing a followed read of a service that still exists is <see cref="LogSourceErrorKind.Unavailable"/>,
/// worth reopening. Shared by the service source and the stack source (one per service of the stack).
/// <para>
/// A read without <c>follow</c> can stop in the middle and never end when the service's tasks change while it runs
/// (dockerd 20.10; moby/moby#38640). One that gives nothing for <see cref="DockerOptions.ServiceReadStallTimeout"/> is
/// taken as stalled and read again, each task's lines already given skipped (<see cref="TaskReadProgress"/>), at most
/// <see cref="DockerOptions.ServiceReadStallRetries"/> times; then the read ends with a marker saying lines may be
/// missing. A followed read cannot tell a stall from a quiet service and is not timed.
/// </para>
/// </summary>
internal sealed partial class ServiceLogRead(DockerClient client, DockerOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>How the daemon's error frame ends when its own read was cancelled (seen on dockerd 20.10 at shutdown).</summary>
    private const string CancelledReadText = "context canceled";

    /// <param name="key">The stream key: host and outputs (and, in log messages, what is read).</param>
    /// <param name="decorate">Adds what the caller knows to each task's metadata (a stack's partition), once per task.</param>
    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SwarmService service, SourceStart start,
        Action<Dictionary<string, string>>? decorate, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var name = service.Spec?.Name ?? service.ID;
        var tasks = new ServiceTaskDirectory(client, key.HostId, service.ID, name, logger, decorate);
        await tasks.RefreshAsync(cancellationToken).ConfigureAwait(false);
        if (start.Follow)
        {
            await foreach (var record in ReadOnceAsync(key, service, start, tasks, progress: null, cancellationToken).ConfigureAwait(false))
                yield return record;
            yield break;
        }

        var progress = new TaskReadProgress(options.RestartSeamMargin);
        for (var stalls = 0; ; stalls++)
        {
            var read = new Attempt();
            await foreach (var record in ReadOnceAsync(key, service, start, tasks, progress, cancellationToken, read).ConfigureAwait(false))
                yield return record;
            if (!read.Stalled)
            {
                // A task an earlier read gave lines of, absent from the re-read that ended (removed since): the rest of
                // its lines may be missing.
                foreach (var (task, lastGiven) in stalls > 0 ? progress.Unreached().ToList() : [])
                    yield return SourceRecord.IncompleteMarker(lastGiven,
                        $"Docker's read of service {name}'s logs was read again after it stalled, and {TaskName(task)} was no longer in it; lines it wrote after this point may be missing.");
                yield break;
            }
            if (stalls == options.ServiceReadStallRetries)
            {
                LogStalledGaveUp(logger, key, options.ServiceReadStallTimeout, stalls + 1);
                yield return SourceRecord.IncompleteMarker(progress.NewestGiven ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
                    $"Docker's read of service {name}'s logs stopped answering ({stalls + 1} times, {options.ServiceReadStallTimeout.TotalSeconds:0.#} s each); lines of some of its tasks may be missing.");
                yield break;
            }
            LogStalled(logger, key, options.ServiceReadStallTimeout);
            foreach (var seam in progress.BeginReread())
                yield return seam;
        }
    }

    private static string TaskName(string details) =>
        SwarmDetails.Parse(details).TaskId is { } id ? $"task {id}" : "a task";

    /// <summary>Whether one read without <c>follow</c> stalled.</summary>
    private sealed class Attempt
    {
        public bool Stalled { get; set; }
    }

    private async IAsyncEnumerable<SourceRecord> ReadOnceAsync(StreamKey key, SwarmService service, SourceStart start, ServiceTaskDirectory tasks,
        TaskReadProgress? progress, [EnumeratorCancellation] CancellationToken cancellationToken, Attempt? attempt = null)
    {
        var tty = service.Spec?.TaskTemplate?.ContainerSpec?.TTY ?? false;
        var name = service.Spec?.Name ?? service.ID;
        // The read's own token: cancelled with the caller's, by the removal watcher, and (without follow) when Docker
        // does not answer within the stall timeout, on this source's clock.
        using var read = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var linked = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), read);
        // Without follow, the opening too is timed: a stalled read may not even answer.
        if (attempt is not null)
            read.CancelAfter(options.ServiceReadStallTimeout);
        Stream? stream;
        try
        {
            stream = await SwarmServiceApi.OpenLogsAsync(client, key, service.ID, start, read.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (attempt is not null && !cancellationToken.IsCancellationRequested)
        {
            attempt.Stalled = true;
            yield break;
        }
        await using var opened = stream;
        if (stream is null)
        {
            LogServiceGone(logger, key);
            yield break;
        }
        start.OnConnected?.Invoke();

        var watcher = start.Follow ? new ServiceRemovalWatcher(client, key, service, time, logger, read) : null;
        var watching = watcher?.WatchAsync() ?? Task.CompletedTask;
        var reader = new DockerLogReader(key.HostId, tty, details: true, time);
        DockerLogLine? cancelled = null;
        try
        {
            await using var lines = reader.ReadAsync(new DockerStreamDemultiplexer(stream, multiplexed: !tty), read.Token).GetAsyncEnumerator(read.Token);
            while (true)
            {
                if (attempt is not null)
                    read.CancelAfter(options.ServiceReadStallTimeout);
                if (!await MoveNextAsync(lines, watcher, attempt, read.Token, cancellationToken).ConfigureAwait(false))
                    break;
                // Only Docker's wait is timed, not the time the consumer holds a line (a slow download, a stack's merge).
                if (attempt is not null)
                    read.CancelAfter(Timeout.InfiniteTimeSpan);
                var line = lines.Current;
                if (line.IsDaemonError)
                {
                    LogDaemonError(logger, key, line.Text);
                    // A manager that shuts down ends a follow stream with "… context canceled": held, because if the
                    // stream ends here the read is reopened from the newest line and nothing is missing.
                    if (start.Follow && line.Text.EndsWith(CancelledReadText, StringComparison.Ordinal))
                        cancelled = line;
                    else if (progress?.IsNewError(line.Text) ?? true)
                        yield return SourceRecord.IncompleteMarker(line.Timestamp, line.Text);
                    continue;
                }
                if (cancelled is { } interrupted)
                {
                    // The stream went on after the cancellation: some node's lines stopped there.
                    yield return SourceRecord.IncompleteMarker(interrupted.Timestamp, interrupted.Text);
                    cancelled = null;
                }
                // Docker's service logs have no `until`: lines stamped after it are dropped as they are read.
                if (start.IsAfterUntil(line.Timestamp))
                    continue;
                // A repeat is judged before the task's metadata is looked up: a re-read's repeats of a task removed
                // meanwhile must not cost a task listing each.
                var verdict = progress?.Offer(line.Details ?? "", line.ToRecord(metadata: null));
                if (verdict == TaskReadProgress.Verdict.Repeat)
                    continue;
                if (verdict == TaskReadProgress.Verdict.NewAfterGap)
                    yield return SourceRecord.IncompleteMarker(line.Timestamp,
                        $"Docker's read of service {name}'s logs was read again after it stalled, and {TaskName(line.Details ?? "")}'s newer lines pushed older ones out of the tail; lines of that task may be missing here.");
                yield return line.ToRecord(await tasks.GetMetadataAsync(line.Details, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            await read.CancelAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
        }

        // The daemon closed a follow stream: the end if the service is gone, else a fault worth reopening.
        if (start.Follow && watcher?.Removed != true && await SwarmServiceApi.TryInspectAsync(client, key.HostId, service.ID, cancellationToken).ConfigureAwait(false) is not null)
            throw new LogSourceException(LogSourceErrorKind.Unavailable,
                $"Docker host '{key.HostId}' closed the log stream of service {name}{(cancelled is { } last ? $": {last.Text}" : ".")}");
    }

    /// <summary>
    /// Advances the reader; false at the end, when the service's removal cancelled the read, and when a read without
    /// follow stalled (said in <paramref name="attempt"/>).
    /// </summary>
    private static async ValueTask<bool> MoveNextAsync(IAsyncEnumerator<DockerLogLine> lines, ServiceRemovalWatcher? watcher, Attempt? attempt,
        CancellationToken read, CancellationToken cancellationToken)
    {
        try
        {
            return await lines.MoveNextAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (watcher?.Removed == true && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (attempt is not null && read.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            attempt.Stalled = true;
            return false;
        }
    }
}
