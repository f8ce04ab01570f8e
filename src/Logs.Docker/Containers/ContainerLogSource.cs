using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Containers;

/// <summary>
/// Container logs (<c>/containers/{id}/logs</c>). A followed container that stops is watched for
/// <see cref="DockerOptions.RestartGrace"/>: if it runs again (<c>docker restart</c>, a restart policy) the read
/// reopens from the newest timestamp it passed on and carries on with no line lost or repeated at the seam, so the
/// clients watching it stay connected; otherwise, or when the container is removed, the read ends. An error the
/// daemon sends inside the stream ("Error grabbing logs: …") fails the read with the daemon's message.
/// </summary>
public sealed partial class ContainerLogSource : ILogSource
{
    /// <summary>How often a stopped container is checked for a new run while the grace lasts.</summary>
    private static readonly TimeSpan RestartPollInterval = TimeSpan.FromMilliseconds(100);

    private const int ShortIdLength = 12;
    private const string AllLines = "all";
    private const string NameMetadata = "container_name";
    private const string IdMetadata = "container_id";

    private readonly DockerHosts _hosts;
    private readonly DockerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ContainerLogSource> _logger;

    public ContainerLogSource(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time, ILogger<ContainerLogSource> logger)
    {
        _hosts = hosts;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public LogSourceType SourceType => LogSourceType.Container;

    public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
    {
        var client = _hosts.GetClient(hostId);
        var container = await InspectAsync(client, hostId, resource, cancellationToken).ConfigureAwait(false);
        return container.ID;
    }

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = _hosts.GetClient(key.HostId);
        var container = start.Continues()
            ? await TryInspectAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false)
            : await InspectAsync(client, key.HostId, key.ResourceId, cancellationToken).ConfigureAwait(false);
        if (container is null)
        {
            LogContainerRemoved(_logger, key);
            yield break;
        }
        // One dictionary for every line of this read: the pipeline keeps it by reference.
        var metadata = Metadata(container);
        var resume = new ResumeFilter(_options.RestartSeamMargin);
        var read = start;
        var reopened = false;
        while (true)
        {
            using var stream = await OpenAsync(client, key, container.ID, read, cancellationToken).ConfigureAwait(false);
            if (stream is null)
            {
                // Removed between the inspect and the logs request: NotFound on a first read, else the natural end.
                if (reopened || start.Continues())
                {
                    LogContainerRemoved(_logger, key);
                    yield break;
                }
                throw new LogSourceException(LogSourceErrorKind.NotFound, $"No such container: {key.ResourceId}");
            }
            if (!reopened)
                start.OnConnected?.Invoke();

            var tty = container.Config?.Tty == true;
            var reader = new DockerLogReader(key.HostId, tty, details: false, _time);
            // A reopened read starts a margin before the newest line seen and gives those lines again: the filter
            // knows them by identity, so a line stamped a little earlier but written after the last read is not lost.
            var atSeam = reopened;
            await foreach (var line in reader.ReadAsync(new DockerStreamDemultiplexer(stream, multiplexed: !tty), cancellationToken).ConfigureAwait(false))
            {
                if (line.IsDaemonError)
                {
                    // The daemon could not read the container's log (a corrupt json-file, say) and ends the response:
                    // a reopen would meet the same file, so this is a failure in the daemon's words, not an outage.
                    LogDaemonError(_logger, key, line.Text);
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

            var restarted = await WaitForNextRunAsync(client, key, container, cancellationToken).ConfigureAwait(false);
            if (restarted is null)
                yield break;
            read = NextRead(resume, start, restarted);
            container = restarted;
            reopened = true;
            LogReopening(_logger, key, read.Since?.ToRfc3339() ?? AllLines);
        }
    }

    /// <summary>
    /// Where the read after a restart begins: from the newest line passed on (the filter skips its repeats), or,
    /// when the previous run gave nothing, from that run's end, so the new run's first lines are not missed and the
    /// old run's history (which the client did not ask for) is not replayed.
    /// </summary>
    private static SourceStart NextRead(ResumeFilter resume, SourceStart start, ContainerInspectResponse restarted)
    {
        if (resume.Last is not null)
            return resume.Reopen();
        return TryParseDockerTime(restarted.State?.FinishedAt, out var finished)
            ? SourceStart.LiveFrom(finished)
            : start with { OnConnected = null };
    }

    /// <summary>
    /// After a followed read ended: the container's next run when it is running again, or starts within the grace;
    /// null when it stays stopped or was removed. A container the daemon is restarting (restart policy back-off) is
    /// waited for as long as it stays in that state: the daemon has committed to running it again.
    /// </summary>
    private async Task<ContainerInspectResponse?> WaitForNextRunAsync(DockerClient client, StreamKey key, ContainerInspectResponse previous, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.RestartGrace;
        var checks = 0;
        while (true)
        {
            var current = await TryInspectAsync(client, key.HostId, previous.ID, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                LogContainerRemoved(_logger, key);
                return null;
            }
            var state = current.State;
            // Still the run that was just read: its stream ended although it runs, so look again once before
            // reopening rather than reopening in a tight loop.
            var sameRun = checks == 0 && state is { Running: true } && state.StartedAt == previous.State?.StartedAt;
            if (state is { Running: true, Restarting: false } && !sameRun)
                return current;
            var now = _time.GetUtcNow();
            if (state?.Restarting == true)
                deadline = now + _options.RestartGrace;
            if (now >= deadline && !sameRun)
            {
                LogContainerStopped(_logger, key, _options.RestartGrace);
                return null;
            }
            var wait = deadline - now;
            await Task.Delay(wait < RestartPollInterval && wait > TimeSpan.Zero ? wait : RestartPollInterval, _time, cancellationToken).ConfigureAwait(false);
            checks++;
        }
    }

    private static Task<ContainerInspectResponse> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken)
    {
        if (!DockerResourceName.IsValid(idOrName))
            throw new LogSourceException(LogSourceErrorKind.NotFound, $"No such container: {idOrName}");
        return DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError, () => client.Containers.InspectContainerAsync(idOrName, cancellationToken), cancellationToken);
    }

    private static async Task<ContainerInspectResponse?> TryInspectAsync(DockerClient client, string hostId, string id, CancellationToken cancellationToken)
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

    /// <summary>Opens the logs response (its raw body); null when the container does not exist (any more).</summary>
    private static async Task<Stream?> OpenAsync(DockerClient client, StreamKey key, string id, SourceStart start, CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = key.Streams.HasFlag(StreamSelection.Stdout) ? true : null,
            ShowStderr = key.Streams.HasFlag(StreamSelection.Stderr) ? true : null,
            Tail = start.Tail?.ToString(CultureInfo.InvariantCulture) ?? AllLines,
            Since = start.Since?.ToUnixSecondsString(),
            Until = start.Until?.ToUnixSecondsString(),
            Follow = start.Follow,
            // Always: lines are ordered, resumed and de-duplicated by Docker's nanosecond timestamps.
            Timestamps = true,
        };
        try
        {
            var response = await DockerErrors.GuardAsync(key.HostId, DockerErrors.ContainerApiError,
                () => client.Containers.GetContainerLogsAsync(id, parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ContainerLogResponse.Body(response);
        }
        catch (LogSourceException ex) when (ex.Kind == LogSourceErrorKind.NotFound)
        {
            return null;
        }
    }

    private static FrozenDictionary<string, string> Metadata(ContainerInspectResponse container) =>
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [NameMetadata] = container.Name?.TrimStart('/') ?? "",
            [IdMetadata] = container.ID.Length > ShortIdLength ? container.ID[..ShortIdLength] : container.ID,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Inspect times drop trailing zeros and a container that never stopped has the zero time.</summary>
    private static bool TryParseDockerTime(string? value, out LogTimestamp timestamp)
    {
        timestamp = default;
        return value is not null && LogTimestamp.TryParse(value, out timestamp) && timestamp.UnixNanoseconds > 0;
    }
}
