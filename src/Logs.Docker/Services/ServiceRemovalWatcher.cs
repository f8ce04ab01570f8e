using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Ends a followed service read when the service is removed. The daemon does not: seen on dockerd 20.10, a service
/// log follow stream stays open after <c>docker service rm</c> (the tasks' containers even go on writing for their
/// stop timeout). The service's <c>remove</c> event is watched from the service's creation time on (the daemon's
/// clock), so a removal between opening the logs and subscribing to events is replayed, not missed. If the event
/// stream fails, the watcher falls back to a bounded poll of the service.
/// </summary>
internal sealed partial class ServiceRemovalWatcher
{
    /// <summary>How often the fallback poll asks whether the service still exists.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private const string ServiceEventType = "service";
    private const string RemoveAction = "remove";

    private readonly DockerClient _client;
    private readonly StreamKey _key;
    private readonly SwarmService _service;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _read;
    private int _removed;

    /// <param name="read">Cancelled when the service is removed; cancelling it also stops the watcher.</param>
    public ServiceRemovalWatcher(DockerClient client, StreamKey key, SwarmService service, TimeProvider time, ILogger logger, CancellationTokenSource read)
    {
        _client = client;
        _key = key;
        _service = service;
        _time = time;
        _logger = logger;
        _read = read;
    }

    /// <summary>True once the removal was seen (and the read cancelled because of it).</summary>
    public bool Removed => Volatile.Read(ref _removed) == 1;

    /// <summary>Watches until the service is removed or the read is cancelled; never throws.</summary>
    public async Task WatchAsync()
    {
        var cancellationToken = _read.Token;
        try
        {
            await WatchEventsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LogEventsFailed(_logger, _key, ex.Message);
        }
        try
        {
            await PollAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private Task WatchEventsAsync(CancellationToken cancellationToken)
    {
        var parameters = new ContainerEventsParameters
        {
            Since = _service.CreatedAt is { } created
                ? LogTimestamp.FromDateTimeOffset(new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc))).ToUnixSecondsString()
                : null,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { [ServiceEventType] = true },
                ["service"] = new Dictionary<string, bool> { [_service.ID] = true },
                ["event"] = new Dictionary<string, bool> { [RemoveAction] = true },
            },
        };
        var progress = new SyncProgress<Message>(message =>
        {
            if (message.Action == RemoveAction && message.Actor?.ID == _service.ID)
                MarkRemoved();
        });
        return _client.System.MonitorEventsAsync(parameters, progress, cancellationToken);
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
            try
            {
                await _client.Swarm.InspectServiceAsync(_service.ID, cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                MarkRemoved();
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (DockerErrors.IsTransport(ex) || ex is DockerApiException))
            {
                // The log read sees the same failure and reports it (a manager without a leader answers 500 here);
                // keep watching in case the host comes back.
            }
        }
    }

    private void MarkRemoved()
    {
        if (Interlocked.Exchange(ref _removed, 1) != 0)
            return;
        LogServiceRemoved(_logger, _key);
        _read.Cancel();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service of {Key} was removed; its log stream ends.")]
    private static partial void LogServiceRemoved(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch the events of {Key} ({Reason}); polling for the service's removal instead.")]
    private static partial void LogEventsFailed(ILogger logger, StreamKey key, string reason);
}
