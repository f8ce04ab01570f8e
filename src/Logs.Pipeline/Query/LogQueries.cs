using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Subscriptions with a <see cref="LineFilter"/>: the shared stream read through the client's filter, its history
/// chosen from the replay buffer, and what the buffer does not hold read from the source for that client only (a
/// backward scan for a filtered <c>tail</c>, the older part of a time range, or a whole range read once).
/// </summary>
public sealed class LogQueries(LogStreamManager streams, LogSourceRegistry sources, IOptions<PipelineOptions> pipelineOptions, IOptions<QueryOptions> queryOptions,
    TimeProvider time, LogMetrics metrics)
{
    private readonly PipelineOptions _pipeline = pipelineOptions.Value;
    private readonly QueryOptions _options = queryOptions.Value;

    public QueryOptions Options => _options;

    /// <summary>
    /// Opens the subscription. <paramref name="request"/>'s <c>Tail</c> counts matching lines. The reads that fill the
    /// history from the source are left to <see cref="QueryOpening.FillAsync"/>, so the caller can report their progress.
    /// </summary>
    public async Task<QueryOpening> OpenAsync(StreamKey key, SubscriptionRequest request, LineFilter filter, CancellationToken cancellationToken)
    {
        var source = sources.Get(key.SourceType);
        if (request.Cursor is not null || request.ResumeAfter is not null)
        {
            // A resume continues where the client was: the filter applies to what follows, nothing is searched back.
            var resumed = await streams.SubscribeAsync(key, request, cancellationToken).ConfigureAwait(false);
            resumed.Apply(filter, tail: null);
            return new QueryOpening(resumed, null);
        }
        if (filter.HasRange)
            return await OpenRangeAsync(source, key, request, filter, cancellationToken).ConfigureAwait(false);
        if (!filter.SelectsLines || request.Tail == 0)
        {
            var plain = await streams.SubscribeAsync(key, request, cancellationToken).ConfigureAwait(false);
            plain.Apply(filter, tail: null);
            return new QueryOpening(plain, null);
        }

        // A filtered tail: the newest matching lines of the whole buffer, then older ones from the source if too few.
        var subscription = request.Follow
            ? await streams.SubscribeAsync(key, request with { Tail = _pipeline.ReplayEntries }, cancellationToken).ConfigureAwait(false)
            : Snapshot(key) ?? new LogSubscription(key, "", [], 0, live: null, release: null);
        var found = subscription.Apply(filter, request.Tail);
        if (found >= request.Tail)
        {
            var at = subscription.OldestHistoryTimestamp() ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow());
            return new QueryOpening(subscription, (progress, _) => Report(progress, new ScanProgress(at, found, ScanState.Done))) { Scans = true };
        }
        return new QueryOpening(subscription, async (progress, token) =>
        {
            var seam = HistorySeam.Before(subscription, source.TailPartitionKey, _pipeline);
            var (older, final) = await HistoryScan.ScanAsync(source, key, seam, request.Tail - found, found, filter, _options, _pipeline, time, progress,
                subscription.KeepAlive, token).ConfigureAwait(false);
            subscription.Prepend(older);
            await Report(progress, final).ConfigureAwait(false);
        }) { Scans = true };
    }

    private async Task<QueryOpening> OpenRangeAsync(ILogSource source, StreamKey key, SubscriptionRequest request, LineFilter filter, CancellationToken cancellationToken)
    {
        if (request.Follow && filter.Until is null)
        {
            // The range from the buffer, then live; the part older than the buffer is read once for this client.
            var subscription = await streams.SubscribeAsync(key, request with { Tail = _pipeline.ReplayEntries }, cancellationToken).ConfigureAwait(false);
            // The seam, not the buffer's single oldest line, says whether the buffer reaches back to since: a quiet
            // replica's old line does not make a chatty one's part of the buffer start that early, and a container's
            // buffer starting exactly at since may have dropped lines of that instant. Only a watermark strictly before
            // since proves that nothing of the range is older than the buffer.
            var seam = filter.Since is null ? null : HistorySeam.Before(subscription, source.TailPartitionKey, _pipeline);
            subscription.Apply(filter, tail: null);
            if (filter.Since is not { } since || seam is null || seam.NoneOlder || seam.Watermark < since)
                return new QueryOpening(subscription, null);
            return new QueryOpening(subscription, async (_, token) =>
            {
                var older = await RangeRead.ReadAsync(source, key, since, seam, filter, _options, _pipeline, subscription.KeepAlive, token).ConfigureAwait(false);
                subscription.Prepend(older);
            });
        }
        // History only: from a live stream's buffer when it reaches back to the range's start, else one read of the range.
        if (filter.Since is { } start && Snapshot(key) is { } snapshot
            && HistorySeam.Before(snapshot, source.TailPartitionKey, _pipeline) is { } bufferStart && bufferStart.Watermark < start)
        {
            snapshot.Apply(filter, tail: null);
            return new QueryOpening(Counted(snapshot, key, HistoryOrigin.Replay), null);
        }
        var read = DirectRead.Open(source, key, SourceStart.Range(filter.Since, filter.Until), sequenced: true, _pipeline, time, metrics, budget: streams.Budget);
        read.Apply(filter, tail: null);
        return new QueryOpening(Counted(read, key, HistoryOrigin.Upstream), null);
    }

    /// <summary>
    /// A subscription of the legacy path (one private upstream) read through the filter: its lines as they come, no
    /// search of the history (that needs the shared stream's buffer), as the legacy path is the old product's.
    /// </summary>
    public static LogSubscription Filtered(LogSubscription subscription, LineFilter? filter)
    {
        if (filter is not null)
            subscription.Apply(filter, tail: null);
        return subscription;
    }

    /// <summary>A history-only range counts in <c>logs_history_requests_total</c> like any history: from the buffer or read from Docker.</summary>
    private LogSubscription Counted(LogSubscription subscription, StreamKey key, HistoryOrigin origin)
    {
        subscription.HistoryOrigin = origin;
        var tags = LogMetrics.Tags(LogMetrics.Unified, key);
        tags.Add("origin", origin.ToWire());
        metrics.HistoryRequests.Add(1, tags);
        return subscription;
    }

    private LogSubscription? Snapshot(StreamKey key) => streams.TryGetStream(key, out var stream) ? stream.TrySnapshot() : null;

    private static ValueTask Report(Func<ScanProgress, ValueTask>? progress, ScanProgress report) => progress?.Invoke(report) ?? ValueTask.CompletedTask;
}

/// <summary>A query's subscription, and the reads from the source that complete its history before it is read.</summary>
public sealed class QueryOpening(LogSubscription subscription, Func<Func<ScanProgress, ValueTask>?, CancellationToken, ValueTask>? fill)
{
    public LogSubscription Subscription { get; } = subscription;

    /// <summary>True for a filtered tail: it reports <c>scan_progress</c> (at least once, <c>done</c> or <c>capped</c>).</summary>
    public bool Scans { get; init; }

    /// <summary>Reads what the history still needs from the source (nothing when the buffer held it). Call once, before reading the subscription.</summary>
    public ValueTask FillAsync(Func<ScanProgress, ValueTask>? progress, CancellationToken cancellationToken) =>
        fill?.Invoke(progress, cancellationToken) ?? ValueTask.CompletedTask;
}
