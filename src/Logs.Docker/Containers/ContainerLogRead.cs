using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Containers;

/// <summary>
/// One read of one container, across its restarts: a followed container that stops is watched for
/// <see cref="DockerOptions.RestartGrace"/>; if it runs again (<c>docker restart</c>, a restart policy) the read reopens
/// a margin before the newest line it passed on and drops what it gives again by identity, so nothing is lost or
/// repeated at the seam; otherwise, or when the container is removed, the read ends. An error the daemon sends inside
/// the stream ("Error grabbing logs: …") fails the read with the daemon's message. Shared by the container source and
/// the stacks made of plain containers (Compose projects).
/// </summary>
internal sealed partial class ContainerLogRead(DockerClient client, DockerOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>How often a stopped container is checked for a new run while the grace lasts.</summary>
    private static readonly TimeSpan RestartPollInterval = TimeSpan.FromMilliseconds(100);

    private const string AllLines = "all";

    /// <param name="key">The container's stream key (host, outputs; the container for the log messages).</param>
    /// <param name="metadata">One dictionary for every line of this read: the pipeline keeps it by reference.</param>
    /// <param name="endsWhenGone">A container that is gone before its logs open ends the read instead of failing it (NotFound).</param>
    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, ContainerInspectResponse container, SourceStart start,
        IReadOnlyDictionary<string, string> metadata, bool endsWhenGone, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var resume = new ResumeFilter(options.RestartSeamMargin);
        var read = start;
        var reopened = false;
        while (true)
        {
            using var stream = await ContainerApi.OpenLogsAsync(client, key, container.ID, read, cancellationToken).ConfigureAwait(false);
            if (stream is null)
            {
                // Removed between the inspect and the logs request: NotFound on a first read, else the natural end.
                if (reopened || endsWhenGone)
                {
                    LogContainerRemoved(logger, key);
                    yield break;
                }
                throw new LogSourceException(LogSourceErrorKind.NotFound, $"No such container: {key.ResourceId}");
            }
            if (!reopened)
                start.OnConnected?.Invoke();

            var tty = container.Config?.Tty == true;
            var reader = new DockerLogReader(key.HostId, tty, details: false, time);
            // A reopened read starts a margin before the newest line seen and gives those lines again: the filter
            // knows them by identity, so a line stamped a little earlier but written after the last read is not lost.
            var atSeam = reopened;
            await foreach (var line in reader.ReadAsync(new DockerStreamDemultiplexer(stream, multiplexed: !tty), cancellationToken).ConfigureAwait(false))
            {
                if (line.IsDaemonError)
                {
                    // The daemon could not read the container's log (a corrupt json-file, say) and ends the response:
                    // a reopen would meet the same file, so this is a failure in the daemon's words, not an outage.
                    LogDaemonError(logger, key, line.Text);
                    throw new LogSourceException(LogSourceErrorKind.Failed, line.Text);
                }
                var record = line.ToRecord(metadata);
                if (atSeam && resume.IsRepeat(record))
                    continue;
                resume.Observe(record);
                yield return record;
            }
            if (!read.Follow)
                yield break;

            var restarted = await WaitForNextRunAsync(key, container, cancellationToken).ConfigureAwait(false);
            if (restarted is null)
                yield break;
            read = NextRead(resume, start, restarted);
            if (resume.SeamMarker() is { } seam)
                yield return seam;
            container = restarted;
            reopened = true;
            LogReopening(logger, key, read.Since?.ToRfc3339() ?? AllLines);
        }
    }

    /// <summary>
    /// Where the read of a container's new run begins when nothing of it was passed on yet: from the previous run's
    /// end, so the new run's first lines are not missed and the old run's history is not replayed; everything when it
    /// never stopped before.
    /// </summary>
    public static SourceStart FromPreviousRun(ContainerInspectResponse running, SourceStart otherwise) =>
        TryParseDockerTime(running.State?.FinishedAt, out var finished) ? SourceStart.LiveFrom(finished) : otherwise;

    /// <summary>
    /// Where the read after a restart begins: from the newest line passed on (the filter skips its repeats), or, when
    /// the previous run gave nothing, from that run's end.
    /// </summary>
    private static SourceStart NextRead(ResumeFilter resume, SourceStart start, ContainerInspectResponse restarted) =>
        resume.Last is not null ? resume.Reopen() : FromPreviousRun(restarted, start with { OnConnected = null });

    /// <summary>
    /// After a followed read ended: the container's next run when it is running again, or starts within the grace;
    /// null when it stays stopped or was removed. A container the daemon is restarting (restart policy back-off) is
    /// waited for as long as it stays in that state: the daemon has committed to running it again.
    /// </summary>
    private async Task<ContainerInspectResponse?> WaitForNextRunAsync(StreamKey key, ContainerInspectResponse previous, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.RestartGrace;
        var checks = 0;
        while (true)
        {
            var current = await ContainerApi.TryInspectAsync(client, key.HostId, previous.ID, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                LogContainerRemoved(logger, key);
                return null;
            }
            var state = current.State;
            // Still the run that was just read: its stream ended although it runs, so look again once before
            // reopening rather than reopening in a tight loop.
            var sameRun = checks == 0 && state is { Running: true } && state.StartedAt == previous.State?.StartedAt;
            if (state is { Running: true, Restarting: false } && !sameRun)
                return current;
            var now = time.GetUtcNow();
            if (state?.Restarting == true)
                deadline = now + options.RestartGrace;
            if (now >= deadline && !sameRun)
            {
                LogContainerStopped(logger, key, options.RestartGrace);
                return null;
            }
            var wait = deadline - now;
            await Task.Delay(wait < RestartPollInterval && wait > TimeSpan.Zero ? wait : RestartPollInterval, time, cancellationToken).ConfigureAwait(false);
            checks++;
        }
    }

    /// <summary>Inspect times drop trailing zeros and a container that never stopped has the zero time.</summary>
    private static bool TryParseDockerTime(string? value, out LogTimestamp timestamp)
    {
        timestamp = default;
        return value is not null && LogTimestamp.TryParse(value, out timestamp) && timestamp.UnixNanoseconds > 0;
    }
}
