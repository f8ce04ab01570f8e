using System.Collections.Concurrent;
using Docker.DotNet.Models;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Events;

/// <summary>
/// Watches each Docker host's <c>/events</c> (from the first resolution asked for it on) for the events that can
/// make a name mean another resource: a container created, destroyed or renamed, a service created or removed. Each
/// one forgets the host's cached resolutions (<see cref="ResolveCache.Invalidate"/>). The watch asks for events
/// since <see cref="ReplayMargin"/> before it (re)starts, so events that happen while its request is on its way are
/// replayed rather than missed; while it is down the host counts as unwatched and the cache is bypassed. One
/// long-lived daemon connection per host.
/// </summary>
internal sealed partial class ResolveInvalidation : IResolveInvalidation, IDisposable
{
    /// <summary>Events are asked for from this long before the watch starts (clocks of the service and the daemon may differ a little).</summary>
    internal static readonly TimeSpan ReplayMargin = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private readonly DockerHosts _hosts;
    private readonly TimeProvider _time;
    private readonly ILogger<ResolveInvalidation> _logger;
    private readonly CancellationTokenSource _stopping = new();

    public ResolveInvalidation(DockerHosts hosts, TimeProvider time, ILogger<ResolveInvalidation> logger)
    {
        _hosts = hosts;
        _time = time;
        _logger = logger;
    }

    public bool IsWatching(string hostId, ResolveCache cache)
    {
        if (_stopping.IsCancellationRequested || !_hosts.Contains(hostId))
            return false;
        var watch = _watches.GetOrAdd(hostId, static (id, self) => new Watch(id), this);
        if (Interlocked.CompareExchange(ref watch.Started, 1, 0) == 0)
            watch.Loop = Task.Run(() => WatchAsync(watch, cache, _stopping.Token));
        return Volatile.Read(ref watch.Live) == 1;
    }

    private async Task WatchAsync(Watch watch, ResolveCache cache, CancellationToken cancellationToken)
    {
        var since = _time.GetUtcNow() - ReplayMargin;
        var lastPrune = _time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = _hosts.GetClient(watch.HostId);
            var parameters = new ContainerEventsParameters
            {
                Since = LogTimestamp.FromDateTimeOffset(since).ToUnixSecondsString(),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true, ["service"] = true },
                    ["event"] = new Dictionary<string, bool> { ["create"] = true, ["destroy"] = true, ["rename"] = true, ["remove"] = true },
                },
            };
            var progress = new SyncProgress<Message>(message =>
            {
                cache.Invalidate(watch.HostId);
                if (_time.GetElapsedTime(lastPrune) > PruneInterval)
                {
                    lastPrune = _time.GetTimestamp();
                    cache.Prune();
                }
            });
            // Live from the moment the request goes out: the daemon replays everything since `since`, which is earlier.
            Volatile.Write(ref watch.Live, 1);
            try
            {
                await client.System.MonitorEventsAsync(parameters, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogWatchFailed(_logger, watch.HostId, ex.Message);
            }
            // Down: what is cached may be stale by now, and nothing can be trusted until the watch is back.
            Volatile.Write(ref watch.Live, 0);
            cache.Invalidate(watch.HostId);
            since = _time.GetUtcNow() - ReplayMargin;
            try
            {
                await Task.Delay(RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Watch(string hostId)
    {
        public string HostId { get; } = hostId;
        public int Started;
        public int Live;
        public Task? Loop;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The events of Docker host '{HostId}' cannot be watched ({Reason}); resolutions are not cached until the watch is back.")]
    private static partial void LogWatchFailed(ILogger logger, string hostId, string reason);
}
