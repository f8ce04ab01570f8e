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
/// </summary>
internal sealed partial class ServiceLogRead(DockerClient client, TimeProvider time, ILogger logger)
{
    /// <summary>How the daemon's error frame ends when its own read was cancelled (seen on dockerd 20.10 at shutdown).</summary>
    private const string CancelledReadText = "context canceled";

    /// <param name="key">The stream key: host and outputs (and, in log messages, what is read).</param>
    /// <param name="decorate">Adds what the caller knows to each task's metadata (a stack's partition), once per task.</param>
    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SwarmService service, SourceStart start,
        Action<Dictionary<string, string>>? decorate, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tty = service.Spec?.TaskTemplate?.ContainerSpec?.TTY ?? false;
        var name = service.Spec?.Name ?? service.ID;
        var tasks = new ServiceTaskDirectory(client, key.HostId, service.ID, name, logger, decorate);
        await tasks.RefreshAsync(cancellationToken).ConfigureAwait(false);

        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var stream = await SwarmServiceApi.OpenLogsAsync(client, key, service.ID, start, cancellationToken).ConfigureAwait(false);
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
            while (await MoveNextAsync(lines, watcher, cancellationToken).ConfigureAwait(false))
            {
                var line = lines.Current;
                if (line.IsDaemonError)
                {
                    LogDaemonError(logger, key, line.Text);
                    // A manager that shuts down ends a follow stream with "… context canceled": held, because if the
                    // stream ends here the read is reopened from the newest line and nothing is missing.
                    if (start.Follow && line.Text.EndsWith(CancelledReadText, StringComparison.Ordinal))
                        cancelled = line;
                    else
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
                var metadata = await tasks.GetMetadataAsync(line.Details, cancellationToken).ConfigureAwait(false);
                yield return line.ToRecord(metadata);
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

    /// <summary>Advances the reader; false at the end, and when the service's removal cancelled the read.</summary>
    private static async ValueTask<bool> MoveNextAsync(IAsyncEnumerator<DockerLogLine> lines, ServiceRemovalWatcher? watcher, CancellationToken cancellationToken)
    {
        try
        {
            return await lines.MoveNextAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (watcher?.Removed == true && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
