using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Events;

/// <summary>
/// Shares one Docker events stream per host among all the clients of <c>/ws/hosts/{id}/events</c>: the first client
/// opens it, each event goes to every client's bounded queue with a non-blocking write (a slow client loses its own
/// oldest events, counted, and never holds up the others), and the stream closes
/// <see cref="ListingOptions.EventIdleGrace"/> after the last client left. A stream that breaks is reopened here, with
/// the log streams' backoff and give-up (<see cref="PipelineOptions.RetryInitialBackoff"/>,
/// <see cref="PipelineOptions.RetryMaxBackoff"/>, <see cref="PipelineOptions.RetryGiveUpAfter"/>), from the last event's
/// time (inclusive; repeats dropped by time, id and action); the clients get notices in their queue and a
/// <see cref="HostFeedNoticeKind.Gap"/> when the reopened stream did not start by giving that last event again. Only
/// giving up ends every client's subscription with the failure.
/// Events are not forced through the log pipeline: they are structured records without replay, cursors or levels,
/// and the pipeline's per-line machinery (sequence numbers, replay buffer, byte budget) would only distort them.
/// </summary>
public sealed partial class HostEventHub(
    IHostEventSource source,
    IOptions<ListingOptions> options,
    IOptions<PipelineOptions> pipelineOptions,
    TimeProvider time,
    ILogger<HostEventHub> logger) : IAsyncDisposable
{
    /// <summary>
    /// A new stream asks Docker for the events since a little before it opened: the first client's <c>connected</c>
    /// frame is sent before the daemon has answered, and what happens in between must not be lost. A client may so see
    /// an event from just before it connected, never miss one from after. (On our clock; a reopen uses Docker's own
    /// event times instead.)
    /// </summary>
    private static readonly TimeSpan SinceMargin = TimeSpan.FromSeconds(1);

    private readonly IHostEventSource _source = source;
    private readonly ListingOptions _options = options.Value;
    private readonly PipelineOptions _retry = pipelineOptions.Value;
    private readonly TimeProvider _time = time;
    private readonly ILogger<HostEventHub> _logger = logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Feed> _feeds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _opens = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>
    /// Joins the host's shared stream, opening it if no client holds it. After <see cref="DisposeAsync"/> the
    /// subscription is already complete (the server is stopping).
    /// </summary>
    public HostEventSubscription Subscribe(string hostId)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                var ended = new HostEventSubscription(hostId, _options.EventQueueEntries, _time.GetUtcNow(), _ => { });
                ended.End(null);
                return ended;
            }
            var opening = !_feeds.TryGetValue(hostId, out var feed);
            if (opening)
            {
                feed = new Feed(this, hostId, _time.GetUtcNow() - SinceMargin);
                _feeds[hostId] = feed;
                _opens[hostId] = _opens.GetValueOrDefault(hostId) + 1;
            }
            var subscription = new HostEventSubscription(hostId, _options.EventQueueEntries, feed!.Newest, s => Leave(feed!, s));
            feed.Add(subscription);
            // Started once its first client is in, so that client gets the stream's first event too.
            if (opening)
                feed.Start();
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
            _disposed = true;
            feeds = [.. _feeds.Values];
            _feeds.Clear();
            foreach (var feed in feeds)
                feed.End(null);
        }
        foreach (var feed in feeds)
            await feed.Completion.ConfigureAwait(false);
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
            feed.ScheduleIdle(_time, _options.EventIdleGrace);
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

    /// <summary>The stream failed for good (or not transiently): every client's subscription ends with the failure.</summary>
    private void OnFailed(Feed feed, LogSourceException failure)
    {
        LogUpstreamFailed(_logger, feed.HostId, failure.Message);
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
    private sealed class Feed(HostEventHub hub, string hostId, DateTimeOffset since)
    {
        private readonly CancellationTokenSource _stop = new();
        // Copied on change (under the hub's gate), read without a lock by the upstream's loop.
        private HostEventSubscription[] _subscribers = [];
        private ITimer? _idle;
        private Task _run = Task.CompletedTask;
        private bool _ended;
        private bool _retrying;
        // The upstream's loop alone touches these (events are handed over on its own flow), but Newest is read under the gate.
        private long _newestTicks = since.UtcTicks;
        private long _lastNano;
        private bool _sawEvent;
        private readonly HashSet<(string Id, string Action)> _lastKeys = [];
        private bool _awaitingProof;
        private long? _failingSince;
        private TimeSpan _backoff = hub._retry.RetryInitialBackoff;

        public string HostId { get; } = hostId;
        public int Count => _subscribers.Length;

        /// <summary>The newest event time the feed knows (or the time its stream was asked from): what <c>connected</c> says.</summary>
        public DateTimeOffset Newest => new(Volatile.Read(ref _newestTicks), TimeSpan.Zero);

        public void Start() => _run = Task.Run(RunAsync);

        // Under the gate.
        public void Add(HostEventSubscription subscription)
        {
            _idle?.Dispose();
            _idle = null;
            _subscribers = [.. _subscribers, subscription];
            // A client that joins while the stream retries is told so at once.
            if (_retrying)
                subscription.Offer(new HostFeedNotice(HostFeedNoticeKind.UpstreamRetrying, "The Docker events stream stopped answering; retrying."));
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

        /// <summary>
        /// Under the gate, once: stops the upstream and ends every client's subscription (with the failure, if any).
        /// Never waits: the upstream's own loop calls it. The stop token is disposed when the loop has ended.
        /// </summary>
        public void End(Exception? failure)
        {
            if (_ended)
                return;
            _ended = true;
            _idle?.Dispose();
            _stop.Cancel();
            foreach (var subscriber in _subscribers)
                subscriber.End(failure);
            _run.ContinueWith(_ => _stop.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        private async Task RunAsync()
        {
            var token = _stop.Token;
            try
            {
                while (true)
                {
                    try
                    {
                        await hub._source.WatchAsync(HostId, ReadFrom(), OnEvent, token).ConfigureAwait(false);
                        token.ThrowIfCancellationRequested();
                        throw new LogSourceException(LogSourceErrorKind.Unavailable, $"The events stream of Docker host '{HostId}' ended.");
                    }
                    catch (LogSourceException ex) when (ex.IsTransient && !token.IsCancellationRequested)
                    {
                        var now = hub._time.GetTimestamp();
                        if (_failingSince is null)
                        {
                            _failingSince = now;
                            Notify(HostFeedNoticeKind.UpstreamRetrying, $"The Docker events stream stopped answering ({ex.Message}); retrying.", retrying: true);
                        }
                        else if (hub._time.GetElapsedTime(_failingSince.Value) >= hub._retry.RetryGiveUpAfter)
                        {
                            throw;
                        }
                        _awaitingProof = true;
                        LogUpstreamRetrying(hub._logger, HostId, _backoff, ex.Message);
                        await Task.Delay(_backoff, hub._time, token).ConfigureAwait(false);
                        _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, hub._retry.RetryMaxBackoff.Ticks));
                    }
                }
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

        // A reopen asks from the last event's own time (Docker's clock, floored to a tick: inclusive), the first open from the feed's start.
        private DateTimeOffset ReadFrom() =>
            _lastNano > 0 ? DateTimeOffset.UnixEpoch.AddTicks(_lastNano / 100) : since;

        private void OnEvent(HostEvent hostEvent)
        {
            var nano = hostEvent.TimeNano;
            // Given again by a reopened read: at or before the last event passed on, and seen (the read is inclusive).
            var repeat = nano > 0 && (nano < _lastNano || (nano == _lastNano && _lastKeys.Contains((hostEvent.Id, hostEvent.Action))));
            if (_failingSince is not null)
            {
                _failingSince = null;
                _backoff = hub._retry.RetryInitialBackoff;
                Notify(HostFeedNoticeKind.UpstreamResumed, "The Docker events stream answers again.", retrying: false);
            }
            if (_awaitingProof)
            {
                // Docker gives a reopened stream its buffered events from `since` on first: the last event coming again
                // proves the new stream continues the old one. Anything else (a daemon that restarted and lost its
                // buffer, a first stream that saw no event) may have skipped some.
                _awaitingProof = false;
                if (!repeat)
                    Notify(HostFeedNoticeKind.Gap, "The Docker events stream was reopened and events may have been missed; refresh the listings.", retrying: false);
            }
            if (repeat)
                return;
            if (nano > _lastNano)
            {
                _lastNano = nano;
                _lastKeys.Clear();
            }
            _lastKeys.Add((hostEvent.Id, hostEvent.Action));
            // Docker's clock, once it gave an event: ours (the start) may be ahead of it or behind.
            if (!_sawEvent || hostEvent.Timestamp.UtcTicks > Volatile.Read(ref _newestTicks))
                Volatile.Write(ref _newestTicks, hostEvent.Timestamp.UtcTicks);
            _sawEvent = true;
            foreach (var subscriber in _subscribers)
                subscriber.Offer(hostEvent);
        }

        // Under the gate, so a client joining meanwhile gets the retrying notice exactly when the feed retries.
        private void Notify(HostFeedNoticeKind kind, string message, bool retrying)
        {
            var notice = new HostFeedNotice(kind, message);
            lock (hub._gate)
            {
                if (kind != HostFeedNoticeKind.Gap)
                    _retrying = retrying;
                foreach (var subscriber in _subscribers)
                    subscriber.Offer(notice);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The events stream of Docker host {HostId} failed ({Reason}); its clients are disconnected.")]
    private static partial void LogUpstreamFailed(ILogger logger, string hostId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The events stream of Docker host {HostId} broke ({Reason}); reopening in {Backoff}.")]
    private static partial void LogUpstreamRetrying(ILogger logger, string hostId, TimeSpan backoff, string reason);
}
