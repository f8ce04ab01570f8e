using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Swarm service logs (<c>/services/{id}/logs</c>), which only a manager serves. Lines are read with
/// <c>details=1</c> so each names its task; the task's replica slot and name come from the task list. Replicas are
/// merged in timestamp order within <see cref="DockerOptions.ServiceMergeWindow"/>. A followed read ends when the
/// service is removed (the daemon does not end it: <see cref="ServiceRemovalWatcher"/>). The daemon's in-stream
/// errors (for example "incomplete log stream … node … not available") mean lines of some task are missing: each
/// becomes a <see cref="SourceRecord.IncompleteMarker"/> in its place, and the stream goes on with the other tasks,
/// as the daemon's does. A manager whose control plane is recovering (no leader, locked) is
/// <see cref="LogSourceErrorKind.Unavailable"/>, retried like a host that is down; a service removed before a
/// continuing read opens ends that read (<see cref="ContinuedRead"/>).
/// </summary>
public sealed partial class ServiceLogSource : ILogSource
{
    private const string AllLines = "all";

    /// <summary>How the daemon's error frame ends when its own read was cancelled (seen on dockerd 20.10 at shutdown).</summary>
    private const string CancelledReadText = "context canceled";

    /// <summary>Docker counts a service's <c>tail</c> per task.</summary>
    public string? TailPartitionKey => ServiceTaskDirectory.TaskIdMetadata;

    private readonly DockerHosts _hosts;
    private readonly DockerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceLogSource> _logger;

    public ServiceLogSource(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time, ILogger<ServiceLogSource> logger)
    {
        _hosts = hosts;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public LogSourceType SourceType => LogSourceType.Service;

    public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
    {
        var client = _hosts.GetClient(hostId);
        var service = await InspectAsync(client, hostId, resource, cancellationToken).ConfigureAwait(false);
        return service.ID;
    }

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = _hosts.GetClient(key.HostId);
        var service = start.Continues()
            ? await TryInspectAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false)
            : await InspectAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            LogServiceGone(_logger, key);
            yield break;
        }
        var tty = service.Spec?.TaskTemplate?.ContainerSpec?.TTY ?? false;
        var tasks = new ServiceTaskDirectory(client, key.HostId, service.ID, service.Spec?.Name ?? service.ID, _logger);
        await tasks.RefreshAsync(cancellationToken).ConfigureAwait(false);

        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var stream = await OpenAsync(client, key, service.ID, start, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            LogServiceGone(_logger, key);
            yield break;
        }
        start.OnConnected?.Invoke();

        var watcher = start.Follow ? new ServiceRemovalWatcher(client, key, service, _time, _logger, read) : null;
        var watching = watcher?.WatchAsync() ?? Task.CompletedTask;
        var merger = new ServiceLineMerger(_options.ServiceMergeWindow, _time);
        var reader = new DockerLogReader(key.HostId, tty, details: true, _time);
        var lines = reader.ReadAsync(new DockerStreamDemultiplexer(stream, multiplexed: !tty), read.Token).GetAsyncEnumerator(read.Token);
        Task<bool>? next = null;
        Task? releaseTimer = null;
        DockerLogLine? cancelled = null;
        try
        {
            while (true)
            {
                next ??= MoveNextAsync(lines, watcher, cancellationToken);
                if (!next.IsCompleted && merger.UntilNextRelease() is { } due)
                {
                    // Wake for whichever comes first: the next line, or the first held line falling due. One timer at
                    // a time: when it fires, whatever is due goes out and it is armed again for the new first line.
                    if (releaseTimer is null || releaseTimer.IsCompleted)
                        releaseTimer = due > TimeSpan.Zero ? Task.Delay(due, _time, cancellationToken) : Task.CompletedTask;
                    await Task.WhenAny(next, releaseTimer).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                if (next.IsCompleted || !merger.HasHeld)
                {
                    var more = await next.ConfigureAwait(false);
                    next = null;
                    if (!more)
                        break;
                    var line = lines.Current;
                    if (line.IsDaemonError)
                    {
                        LogDaemonError(_logger, key, line.Text);
                        // A manager that shuts down ends a follow stream with "… context canceled": held, because if
                        // the stream ends here the read is reopened from the newest line and nothing is missing.
                        if (start.Follow && line.Text.EndsWith(CancelledReadText, StringComparison.Ordinal))
                            cancelled = line;
                        else
                            merger.Add(SourceRecord.IncompleteMarker(line.Timestamp, line.Text));
                    }
                    else
                    {
                        if (cancelled is { } interrupted)
                        {
                            // The stream went on after the cancellation: some node's lines stopped there.
                            merger.Add(SourceRecord.IncompleteMarker(interrupted.Timestamp, interrupted.Text));
                            cancelled = null;
                        }
                        var metadata = await tasks.GetMetadataAsync(line.Details, cancellationToken).ConfigureAwait(false);
                        // The service logs API has no until: the lines stamped after it are cut here.
                        if (!start.IsAfterUntil(line.Timestamp))
                            merger.Add(line.ToRecord(metadata));
                    }
                }
                while (merger.TryTake(out var record))
                    yield return record;
            }
            while (merger.TryDrain(out var record))
                yield return record;
        }
        finally
        {
            await read.CancelAsync().ConfigureAwait(false);
            // The enumerator cannot be disposed under a pending MoveNextAsync: let it finish (cancelled) first.
            if (next is not null)
                await Task.WhenAny(next).ConfigureAwait(false);
            await lines.DisposeAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
        }

        // The daemon closed a follow stream: the end if the service is gone, else a fault worth reopening.
        if (start.Follow && watcher?.Removed != true && await ExistsAsync(client, key.HostId, service.ID, cancellationToken).ConfigureAwait(false))
            throw new LogSourceException(LogSourceErrorKind.Unavailable,
                $"Docker host '{key.HostId}' closed the log stream of service {service.Spec?.Name ?? service.ID}{(cancelled is { } last ? $": {last.Text}" : ".")}");
    }

    private static async Task<bool> ExistsAsync(DockerClient client, string hostId, string id, CancellationToken cancellationToken) =>
        await TryInspectAsync(client, hostId, id, cancellationToken).ConfigureAwait(false) is not null;

    private static async Task<SwarmService?> TryInspectAsync(DockerClient client, string hostId, string id, CancellationToken cancellationToken)
    {
        try
        {
            return await InspectAsync(client, hostId, id, cancellationToken).ConfigureAwait(false);
        }
        catch (LogSourceException ex) when (ex.Kind == LogSourceErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>Advances the reader; false at the end, and when the service's removal cancelled the read.</summary>
    private static async Task<bool> MoveNextAsync(IAsyncEnumerator<DockerLogLine> lines, ServiceRemovalWatcher? watcher, CancellationToken cancellationToken)
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

    private static Task<SwarmService> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken)
    {
        if (!DockerResourceName.IsValid(idOrName))
            throw new LogSourceException(LogSourceErrorKind.NotFound, $"No such service: {idOrName}");
        return DockerErrors.GuardAsync(hostId, ex => ServiceApiError(ex, idOrName), () => client.Swarm.InspectServiceAsync(idOrName, cancellationToken), cancellationToken);
    }

    /// <summary>Opens the logs response; null when the service does not exist (any more).</summary>
    private static async Task<Stream?> OpenAsync(DockerClient client, StreamKey key, string id, SourceStart start, CancellationToken cancellationToken)
    {
        var parameters = new ServiceLogsParameters
        {
            ShowStdout = key.Streams.HasFlag(StreamSelection.Stdout) ? true : null,
            ShowStderr = key.Streams.HasFlag(StreamSelection.Stderr) ? true : null,
            // Docker counts a service's tail per task.
            Tail = start.Tail?.ToString(CultureInfo.InvariantCulture) ?? AllLines,
            Since = start.Since?.ToUnixSecondsString(),
            Follow = start.Follow,
            Timestamps = true,
            Details = true,
        };
        // The raw stream, not the library's MultiplexedStream: that one rejects Docker's system-error frames and
        // loses the daemon's message, and hides frame ends, which keep interleaved replicas' partial lines apart.
        try
        {
            return await DockerErrors.GuardAsync(key.HostId, ex => ServiceApiError(ex, id),
                () => client.Swarm.GetServiceLogsAsync(id, parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (LogSourceException ex) when (ex.Kind == LogSourceErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// A manager whose control plane is recovering is unavailable for now (<see cref="SwarmManagerErrors"/>); a node
    /// that is not a manager (a worker, or outside any swarm) answers 503 with its own explanation, which is what the
    /// user needs to read; an unknown service answers 404 ("service x not found").
    /// </summary>
    private static LogSourceException ServiceApiError(DockerApiException ex, string idOrName) => ex switch
    {
        _ when SwarmManagerErrors.IsRecovering(DockerErrors.DaemonMessage(ex)) =>
            new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host is a swarm manager that cannot serve yet: {DockerErrors.DaemonMessage(ex)}", ex),
        DockerSwarmNodeNotParticipatingException or { StatusCode: HttpStatusCode.ServiceUnavailable } =>
            new LogSourceException(LogSourceErrorKind.NotSupported, DockerErrors.DaemonMessage(ex), ex),
        { StatusCode: HttpStatusCode.NotFound } => new LogSourceException(LogSourceErrorKind.NotFound, $"No such service: {idOrName}", ex),
        _ => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
    };
}
