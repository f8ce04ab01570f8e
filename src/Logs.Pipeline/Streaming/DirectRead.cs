using System.Security.Cryptography;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// One upstream read for one subscriber, shared with nobody: a history-only read when no live stream holds the
/// lines, and the whole of the legacy per-connection path. Its queue is lossless: the read waits for the client,
/// and a client that takes nothing for the stall timeout is closed (and the read cancelled, never leaked).
/// </summary>
public static class DirectRead
{
    /// <param name="source">The source to read.</param>
    /// <param name="key">What to read.</param>
    /// <param name="start">Where to start, and whether to follow.</param>
    /// <param name="sequenced">Number the entries 1, 2, 3… (the unified path); false leaves them unsequenced (the legacy path).</param>
    /// <param name="options">Queue size and stall timeout.</param>
    /// <param name="time">Clock for the stall timeout.</param>
    /// <param name="metrics">Instruments, tagged with the path that opened the read.</param>
    /// <param name="leading">An event to give before the lines (a resume that cannot be honoured).</param>
    /// <param name="budget">The process-wide byte budget its queue counts against; null for none.</param>
    public static LogSubscription Open(ILogSource source, StreamKey key, SourceStart start, bool sequenced, PipelineOptions options, TimeProvider time, LogMetrics metrics,
        StreamEvent? leading = null, BufferBudget? budget = null)
    {
        var subscribed = time.GetTimestamp();
        var tags = LogMetrics.Tags(sequenced ? LogMetrics.Unified : LogMetrics.Legacy, key);
        var epoch = sequenced ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) : "";
        Exception? fault = null;
        var queue = new SubscriberQueue(options.SubscriberQueueEntries, lastEnqueued: 0, lossless: true, time, () => fault, options.SubscriberQueueBytes, budget);
        var cancel = new CancellationTokenSource();
        metrics.Upstreams.Add(1, tags);
        long sequence = 0;
        var read = Task.Run(async () =>
        {
            try
            {
                // The unified path's lines carry cursors here too; the legacy path's carry nothing, as the old product's.
                var tracker = sequenced ? new PositionTracker(source.TailPartitionKey, options.CursorPartitions, options.RepeatWindowEntries) : null;
                await foreach (var records in ChunkedRead.ReadAsync(token => source.ReadAsync(key, start, token), cancel.Token))
                {
                    metrics.EntriesRead.Add(records.Count, tags);
                    var chunk = tracker is null ? new LogEntry[records.Count] : Positioned(records, tracker);
                    for (var i = 0; tracker is null && i < chunk.Length; i++)
                        chunk[i] = new LogEntry(key, 0, epoch, records[i]);
                    if (chunk.Length == 0)
                        continue;
                    var write = queue.WriteAsync(chunk, cancel.Token);
                    if (write.IsCompletedSuccessfully)
                        continue;
                    // The client has a full queue: give it the stall timeout to take some.
                    using var stall = new CancellationTokenSource(options.StallTimeout, time);
                    using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, stall.Token);
                    try
                    {
                        await write.AsTask().WaitAsync(both.Token);
                    }
                    catch (OperationCanceledException) when (stall.IsCancellationRequested && !cancel.IsCancellationRequested)
                    {
                        queue.Abort(new SubscriberStalledException(options.StallTimeout));
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                fault = ex;
                var errorTags = tags;
                errorTags.Add("kind", ex is LogSourceException failure ? failure.Kind.ToString().ToLowerInvariant() : "internal");
                metrics.UpstreamErrors.Add(1, errorTags);
            }
            finally
            {
                metrics.Upstreams.Add(-1, tags);
            }
            queue.Complete();
        });
        LogEntry[] Positioned(List<SourceRecord> records, PositionTracker tracker)
        {
            var chunk = new List<LogEntry>(records.Count);
            foreach (var record in records)
            {
                if (record.Incomplete is not null)
                {
                    chunk.Add(new LogEntry(key, ++sequence, epoch, record));
                    continue;
                }
                var line = LineIdentity.Of(record);
                if (tracker.IsRepeat(line))
                    continue;
                chunk.Add(new LogEntry(key, ++sequence, epoch, record, line, tracker.Advance(record, line)));
            }
            return [.. chunk];
        }

        return new LogSubscription(key, epoch, [], 0, queue, leading: leading, release: async _ =>
        {
            await cancel.CancelAsync();
            await read.ConfigureAwait(false);
            cancel.Dispose();
        })
        {
            SubscribedTimestamp = subscribed,
            HistoryOrigin = HistoryOrigin.Upstream,
        };
    }
}
