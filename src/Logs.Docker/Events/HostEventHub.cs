using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Events;

/// <summary>
/// Shares one Docker events stream per host among all the clients of <c>/ws/hosts/{id}/events</c>: the first client
/// opens it, each event goes to every client's bounded queue with a non-blocking write (a slow client loses its own
/// oldest events, counted, and never holds up the others), and the stream closes
/// <see cref="ListingOptions.EventIdleGrace"/> after the last client left. An upstream that fails ends every client's
/// subscription with the failure (the clients reconnect; the next one opens a new stream).
/// Events are not forced through the log pipeline: they are structured records without replay, cursors or levels,
/// and the pipeline's per-line machinery (sequence numbers, replay buffer, byte budget) would only distort them.
/// </summary>
public sealed partial class HostEventHub(IHostEventSource source, IOptions<ListingOptions> options, TimeProvider time, ILogger<HostEventHub> logger) : IAsyncDisposable
{
    /// <summary>
    /// A new stream asks Docker for the events since a little before it opened: the first client's <c>connected</c>
    /// frame is sent before the daemon has answered, and what happens in between must not be lost. A client may so see
    /// an event from just before it connected, never miss one from after.
    /// </summary>
    private static readonly TimeSpan SinceMargin = TimeSpan.FromSeconds(1);

    private readonly IHostEventSource _source = source;
    private readonly ListingOptions _options = options.Value;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Feed> _feeds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _opens = new(StringComparer.Ordinal);

    /// <summary>Joins the host's shared stream, opening it if no client holds it.</summary>
    public HostEventSubscription Subscribe(string hostId)
    {
        lock (_gate)
        {
            var opening = !_feeds.TryGetValue(hostId, out var feed);
            if (opening)
            {
                feed = new Feed(this, hostId);
                _feeds[hostId] = feed;
                _opens[hostId] = _opens.GetValueOrDefault(hostId) + 1;
            }
            var subscription = new HostEventSubscription(hostId, _options.EventQueueEntries, s => Leave(feed!, s));
            feed!.Add(subscription);
            // Started once its first client is in, so that client gets the stream's first event too.
            if (opening)
                feed.Start(time.GetUtcNow() - SinceMargin);
            return subscription;
        }
    }

    /// <summary>Every host that has had a feed: whether one is open now, its clients, and the streams opened in all.</summary>
    public IReadOnlyList<HostEventFeedInfo> ListFeeds()
    {
        lock (_gate)
        {
            return _opens.Keys.Order(StringComparer.Ordinal)
                .Select(host => _feeds.TryGetValue(host, out var feed)
                    ? new HostEventFeedInfo(host, true, feed.Count, _opens[host])
                    : new HostEventFeedInfo(host, false, 0, _opens[host]))
                .ToList();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Feed[] feeds;
        lock (_gate)
        {
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }
        foreach (var feed in feeds)
        {
            feed.End(null);
            await feed.Completion.ConfigureAwait(false);
        }
    }

    private void Leave(Feed feed, HostEventSubscription subscription)
    {
        lock (_gate)
        {
            if (!feed.Remove(subscription) || feed.Count > 0)
                return;
            if (_options.EventIdleGrace == TimeSpan.Zero)
            {
                Retire(feed, null);
                return;
            }
            feed.ScheduleIdle(time, _options.EventIdleGrace);
        }
    }

    /// <summary>The idle grace ran out: close the stream unless a client came back meanwhile.</summary>
    private void OnIdle(Feed feed)
    {
        lock (_gate)
        {
            if (feed.Count == 0)
                Retire(feed, null);
        }
    }

    /// <summary>The stream failed: every client's subscription ends with the failure.</summary>
    private void OnFailed(Feed feed, LogSourceException failure)
    {
        LogUpstreamFailed(logger, feed.HostId, failure.Message);
        lock (_gate)
        {
            Retire(feed, failure);
        }
    }

    // Under the gate. By identity: a failed or idle feed may finish after a new one for the same host registered.
    private void Retire(Feed feed, Exception? failure)
    {
        if (_feeds.TryGetValue(feed.HostId, out var current) && ReferenceEquals(current, feed))
            _feeds.Remove(feed.HostId);
        feed.End(failure);
    }

    /// <summary>One life of a host's Docker events stream and its clients.</summary>
    private sealed class Feed(HostEventHub hub, string hostId)
    {
        private readonly CancellationTokenSource _stop = new();
        // Copied on change (under the hub's gate), read without a lock by the upstream's loop.
        private HostEventSubscription[] _subscribers = [];
        private ITimer? _idle;
        private Task _run = Task.CompletedTask;

        public string HostId { get; } = hostId;
        public int Count => _subscribers.Length;

        public void Start(DateTimeOffset since) => _run = Task.Run(() => RunAsync(since));

        public void Add(HostEventSubscription subscription)
        {
            _idle?.Dispose();
            _idle = null;
            _subscribers = [.. _subscribers, subscription];
        }

        public bool Remove(HostEventSubscription subscription)
        {
            var before = _subscribers.Length;
            _subscribers = _subscribers.Where(s => !ReferenceEquals(s, subscription)).ToArray();
            return _subscribers.Length < before;
        }

        public void ScheduleIdle(TimeProvider time, TimeSpan grace)
        {
            _idle?.Dispose();
            _idle = time.CreateTimer(_ => hub.OnIdle(this), null, grace, Timeout.InfiniteTimeSpan);
        }

        /// <summary>The upstream's loop; it never throws.</summary>
        public Task Completion => _run;

        /// <summary>Stops the upstream and ends every client's subscription (with the failure, if any). Never waits: the upstream's own loop calls it.</summary>
        public void End(Exception? failure)
        {
            _idle?.Dispose();
            _stop.Cancel();
            foreach (var subscriber in _subscribers)
                subscriber.End(failure);
        }

        private async Task RunAsync(DateTimeOffset since)
        {
            var token = _stop.Token;
            try
            {
                await hub._source.WatchAsync(HostId, since, Publish, token).ConfigureAwait(false);
                throw new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host '{HostId}' closed its events stream.");
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (LogSourceException ex)
            {
                hub.OnFailed(this, ex);
            }
            catch (Exception ex)
            {
                hub.OnFailed(this, new LogSourceException(LogSourceErrorKind.Failed, $"Reading the events of Docker host '{HostId}' failed: {ex.Message}", ex));
            }
        }

        private void Publish(HostEvent hostEvent)
        {
            foreach (var subscriber in _subscribers)
                subscriber.Offer(hostEvent);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The events stream of Docker host {HostId} failed ({Reason}); its clients are disconnected.")]
    private static partial void LogUpstreamFailed(ILogger logger, string hostId, string reason);
}
