using System.Collections.Concurrent;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The registry of shared streams: one <see cref="LogStream"/> per <see cref="StreamKey"/>, opened by the first
/// subscriber, shared by every later one, and closed after the idle grace once the last one has left.
/// </summary>
public sealed class LogStreamManager : IAsyncDisposable
{
    private readonly ConcurrentDictionary<StreamKey, LogStream> _streams = new();
    private readonly LogSourceRegistry _sources;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LogStreamManager> _logger;
    private readonly LogMetrics _metrics;

    public LogStreamManager(LogSourceRegistry sources, IOptions<PipelineOptions> options, TimeProvider time, LogMetrics metrics, ILogger<LogStreamManager> logger,
        BufferBudget? budget = null)
    {
        _metrics = metrics;
        _sources = sources;
        _options = options.Value;
        Budget = budget ?? new BufferBudget(_options.TotalBufferBytes);
        _time = time;
        _logger = logger;
    }

    /// <summary>The process-wide byte budget every stream's replay buffer and queues charge.</summary>
    public BufferBudget Budget { get; }

    /// <summary>Streams currently registered (open, or within their idle grace).</summary>
    public int StreamCount => _streams.Count;

    /// <summary>
    /// Subscribes to the stream of <paramref name="key"/>. With <c>follow</c>, the shared stream is opened if needed
    /// and the call returns once its history is in the replay buffer. Without <c>follow</c>, the history comes from
    /// a live stream's buffer when it holds all of it, else from one read of the source; no upstream is kept for it.
    /// Throws <see cref="LogSourceException"/> when the source cannot be opened.
    /// </summary>
    public async Task<LogSubscription> SubscribeAsync(StreamKey key, SubscriptionRequest request, CancellationToken cancellationToken)
    {
        var subscribed = _time.GetTimestamp();
        var source = _sources.Get(key.SourceType);
        if (request.Cursor is { } cursor && !cursor.IsFor(key))
            throw new InvalidResumeException("resume is a cursor of another log stream (another resource, host or selection of outputs).");
        if (!request.Follow)
        {
            if (_streams.TryGetValue(key, out var existing) && existing.TryServeHistory(request, out var fromBuffer))
                return Served(fromBuffer, HistoryOrigin.Replay);
            if (request.Cursor is not null)
            {
                // History only, from a cursor no live stream can place: read what came after it from the source.
                var catchUp = await CatchUp.ReadAsync(source, key, "", request.Cursor.Position, _options, _time, cancellationToken);
                return Served(new LogSubscription(key, "", catchUp.Entries, 0, live: null, release: null), HistoryOrigin.Upstream);
            }
            // No live stream holds this client's resume point any more: it gets its tail and is told lines may be missing.
            var restarted = request.ResumeAfter is null ? (StreamEvent?)null : StreamEvent.ForGap(-1, GapReason.StreamRestarted);
            return Served(DirectRead.Open(source, key, SourceStart.History(request.Tail), sequenced: true, _options, _time, _metrics, restarted, Budget), HistoryOrigin.Upstream);
        }

        while (true)
        {
            var stream = _streams.GetOrAdd(key, static (k, state) => state.Manager.CreateStream(k, state.Source), (Manager: this, Source: source));
            if (!stream.TryAcquire(request.Cursor?.Position))
            {
                // Closing or ended: a cancelled stream can finish after its replacement registered,
                // so remove by identity, never by key alone.
                _streams.TryRemove(new KeyValuePair<StreamKey, LogStream>(key, stream));
                continue;
            }
            // A late joiner finds the history loaded and is served from the replay buffer; the client that opened
            // the stream (or joined while it opened) waits for the upstream's history read.
            var origin = stream.HistoryLoaded.IsCompletedSuccessfully ? HistoryOrigin.Replay : HistoryOrigin.Upstream;
            try
            {
                await stream.HistoryLoaded.WaitAsync(cancellationToken);
            }
            catch
            {
                stream.ReleaseUnattached(request.Cursor?.Position);
                throw;
            }
            if (request.Cursor is null)
                return Served(stream.Attach(request), origin);
            var subscription = stream.TryAttach(request, catchUp: null, force: false);
            if (subscription is null)
            {
                // The buffer no longer reaches back to the cursor (a restart of the service, another instance, a long
                // absence): read the lines in between once for this client, then attach after them.
                try
                {
                    var catchUp = await stream.CatchUpAsync(request.Cursor.Position, cancellationToken);
                    subscription = stream.TryAttach(request, catchUp, force: true)!;
                    origin = HistoryOrigin.Upstream;
                }
                catch
                {
                    stream.ReleaseUnattached(request.Cursor?.Position);
                    throw;
                }
            }
            return Served(subscription, origin);
        }

        LogSubscription Served(LogSubscription subscription, HistoryOrigin origin)
        {
            subscription.SubscribedTimestamp = subscribed;
            subscription.HistoryOrigin = origin;
            var tags = LogMetrics.Tags(LogMetrics.Unified, key);
            tags.Add("origin", origin.ToWire());
            _metrics.HistoryRequests.Add(1, tags);
            return subscription;
        }
    }

    /// <summary>Every registered stream, for the admin listing.</summary>
    public IReadOnlyList<LogStreamInfo> ListStreams() => _streams.Values.Select(s => s.Describe()).ToList();

    /// <summary>The upstream token of the registered stream for <paramref name="key"/>, if any (tests watch it).</summary>
    internal bool TryGetStream(StreamKey key, out LogStream stream) => _streams.TryGetValue(key, out stream!);

    public async ValueTask DisposeAsync()
    {
        var streams = _streams.Values.ToList();
        foreach (var stream in streams)
            stream.Close();
        await Task.WhenAll(streams.Select(s => s.Completion)).ConfigureAwait(false);
    }

    private LogStream CreateStream(StreamKey key, ILogSource source) =>
        new(key, source, _options, Budget, _time, _logger, _metrics,
            onClosed: stream => _streams.TryRemove(new KeyValuePair<StreamKey, LogStream>(stream.Key, stream)));
}
