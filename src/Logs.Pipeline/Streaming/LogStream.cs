using System.Security.Cryptography;
using System.Threading.Tasks.Dataflow;
using System.Diagnostics;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>Where a stream's upstream is in its life; shown in the admin listing.</summary>
public enum UpstreamState
{
    Created,
    LoadingHistory,
    Live,
    Retrying,
    Ended,
    Faulted,
    Closed,
}

/// <summary>
/// One shared upstream and its Dataflow graph:
/// <code>
/// pump ──SendAsync──▶ sequencer (TransformBlock, bounded: stamps sequence numbers, appends to the replay buffer)
///                        ──▶ broadcast (BroadcastBlock, bounded) ──▶ one SubscriberQueue per live subscriber
/// </code>
/// What flows is chunks: the lines one upstream read had ready (<see cref="ChunkedRead"/>), so a busy stream pays
/// the graph's per-message costs (locks, offers, wake-ups) once per chunk per subscriber instead of once per line.
/// The sequencer's bounded input is the ingest buffer: when fan-out falls behind, the pump waits and the
/// upstream read slows, but no subscriber ever slows another (each queue always accepts and drops its own oldest).
/// The upstream opens in two reads: the history (exactly the replay depth, to its end) and then the live read from
/// the last history timestamp, so the boundary between history and live lines is known exactly.
/// </summary>
internal sealed partial class LogStream
{
    private readonly Lock _gate = new();
    private readonly ILogSource _source;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogMetrics _metrics;
    private readonly TagList _tags;
    private readonly Action<LogStream> _onClosed;
    private readonly CancellationTokenSource _upstreamCts = new();
    private readonly ReplayBuffer _replay;
    private readonly BufferBudget _budget;
    private readonly TransformBlock<SourceRecord[], LogEntry[]> _sequencer;
    private readonly BroadcastBlock<LogEntry[]> _broadcast;
    private readonly TaskCompletionSource _historyLoaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<SubscriberQueue, IDisposable> _links = [];
    private int _holders;
    private bool _closed;
    private Exception? _fault;
    private long _sequence;
    private long _historyCount = -1;
    private ITimer? _idleTimer;
    private ITimer? _stallTimer;
    private Task _pump = Task.CompletedTask;

    public LogStream(StreamKey key, ILogSource source, PipelineOptions options, BufferBudget budget, TimeProvider time, ILogger logger, LogMetrics metrics, Action<LogStream> onClosed)
    {
        Key = key;
        _metrics = metrics;
        _tags = LogMetrics.Tags(LogMetrics.Unified, key);
        _source = source;
        _options = options;
        _time = time;
        _logger = logger;
        _onClosed = onClosed;
        _budget = budget;
        _replay = new ReplayBuffer(options.ReplayEntries, options.ReplayBytes, budget);
        // The ingest bound is in lines; the blocks count chunks of up to ChunkedRead.MaxRecords lines.
        var ingestChunks = Math.Max(2, options.IngestBufferEntries / ChunkedRead.MaxRecords);
        _sequencer = new TransformBlock<SourceRecord[], LogEntry[]>(Stamp, new ExecutionDataflowBlockOptions
        {
            BoundedCapacity = ingestChunks,
            MaxDegreeOfParallelism = 1,
            EnsureOrdered = true,
        });
        _broadcast = new BroadcastBlock<LogEntry[]>(cloningFunction: null, new DataflowBlockOptions
        {
            BoundedCapacity = ingestChunks,
        });
        _sequencer.LinkTo(_broadcast, PropagateCompletion);
    }

    private static DataflowLinkOptions PropagateCompletion { get; } = new() { PropagateCompletion = true };

    public StreamKey Key { get; }

    public string Epoch { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public UpstreamState State { get; private set; } = UpstreamState.Created;

    /// <summary>Completes when the upstream read has stopped and every block of the graph has finished.</summary>
    public Task Completion => Task.WhenAll(_pump, _broadcast.Completion);

    /// <summary>Completes when the history read is sequenced into the replay buffer; faults if it failed.</summary>
    public Task HistoryLoaded => _historyLoaded.Task;

    /// <summary>Cancelled when the upstream is torn down; tests watch it to prove nothing is left reading.</summary>
    public CancellationToken UpstreamToken => _upstreamCts.Token;

    public LogStreamInfo Describe()
    {
        lock (_gate)
            return new LogStreamInfo(Key, Epoch, State, _links.Count, _holders, _replay.Count, _replay.Bytes, _replay.HeadSequence)
                { QueuedEntries = _links.Keys.Sum(q => (long)q.Count), QueuedBytes = _links.Keys.Sum(q => q.Bytes) };
    }

    /// <summary>
    /// Counts a new client in before it waits for the history, so the idle teardown cannot run under it.
    /// False when the stream is closing or has ended: the caller removes it from the registry and opens a new one.
    /// The first holder starts the upstream; racing subscribers cannot start a second one.
    /// </summary>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_closed)
                return false;
            _holders++;
            _idleTimer?.Dispose();
            _idleTimer = null;
            if (State == UpstreamState.Created)
                Start();
            return true;
        }
    }

    /// <summary>
    /// Attaches an acquired client: its history is a snapshot of the replay buffer and its queue is linked in the
    /// same critical section as the sequencer's append, so no entry falls between the two (no gap) and any entry
    /// in both is dropped by sequence number (no duplicate).
    /// </summary>
    public LogSubscription Attach(SubscriptionRequest request)
    {
        lock (_gate)
        {
            var (history, lastDelivered, leading, selectedEnd) = TakeHistory(request);
            if (_closed || !request.Follow)
            {
                // The upstream has ended (or the client wants history only): serve the buffer and finish.
                ReleaseLocked(null);
                return new LogSubscription(Key, Epoch, history, lastDelivered, live: null, release: null, leading, _fault, selectedEnd);
            }
            var queue = new SubscriberQueue(_options.SubscriberQueueEntries, _replay.HeadSequence, lossless: false, _time, () => _fault, _options.SubscriberQueueBytes, _budget);
            _links.Add(queue, _broadcast.LinkTo(queue, PropagateCompletion));
            return new LogSubscription(Key, Epoch, history, lastDelivered, queue, Release, leading, selectedHistoryEnd: selectedEnd);
        }
    }

    /// <summary>
    /// Serves a history-only request from the buffer when it holds every line asked for; false otherwise
    /// (the caller then reads the history from the source once). Never keeps the upstream alive.
    /// </summary>
    public bool TryServeHistory(SubscriptionRequest request, out LogSubscription subscription)
    {
        lock (_gate)
        {
            // With a partitioned tail, only a buffer that still holds the whole history can answer for every partition.
            // A resume is always answered from the buffer: what it no longer holds becomes a gap marker.
            var wanted = request.ResumeAfter is not null ? _replay.OldestSequence
                : _source.TailPartitionKey is null ? Math.Max(1, _replay.HeadSequence - request.Tail + 1)
                : 1;
            if (!_historyLoaded.Task.IsCompletedSuccessfully || _replay.OldestSequence > wanted)
            {
                subscription = null!;
                return false;
            }
            var (history, lastDelivered, leading, selectedEnd) = TakeHistory(request);
            subscription = new LogSubscription(Key, Epoch, history, lastDelivered, live: null, release: null, leading, selectedHistoryEnd: selectedEnd);
            return true;
        }
    }

    /// <summary>Releases a holder that never attached (it gave up while the history loaded).</summary>
    public void ReleaseUnattached()
    {
        lock (_gate)
            ReleaseLocked(null);
    }

    /// <summary>Cancels the upstream now, whatever the subscribers (shutdown).</summary>
    public void Close() => Close(onlyIfIdle: false);

    private void Close(bool onlyIfIdle)
    {
        lock (_gate)
        {
            // The idle check and the closing happen under one lock: a client acquiring between them would
            // otherwise attach to a stream whose upstream is being cancelled.
            if (_closed || onlyIfIdle && _holders > 0)
                return;
            _closed = true;
            State = UpstreamState.Closed;
            DisposeTimers();
        }
        if (onlyIfIdle)
            LogIdleTeardown(_logger, Key);
        _upstreamCts.Cancel();
        // A stream that never started has no pump to complete the graph.
        _sequencer.Complete();
        _onClosed(this);
    }

    private (LogEntry[] History, long LastDelivered, StreamEvent? Leading, long SelectedEnd) TakeHistory(SubscriptionRequest request)
    {
        if (request.ResumeAfter is { } resume)
        {
            if (resume.Epoch == Epoch && resume.Sequence <= _replay.HeadSequence && resume.Sequence >= 0)
                return (_replay.After(resume.Sequence), resume.Sequence, null, 0);
            // Sequence numbers of another epoch mean nothing here: serve the tail and say the count is unknown.
            var (history, last, _, selectedEnd) = TakeHistory(request with { ResumeAfter = null });
            return (history, last, StreamEvent.ForGap(-1, GapReason.StreamRestarted), selectedEnd);
        }
        if (_source.TailPartitionKey is { } partitionKey)
        {
            // A selection, not a contiguous range: the subscription must not read the holes as gaps. When the buffer
            // has dropped lines, a partition may have fewer than asked: say so, count unknown.
            var (selected, complete) = _replay.LastPerPartition(request.Tail, partitionKey);
            var shortened = !complete && _replay.OldestSequence > 1 ? StreamEvent.ForGap(-1, GapReason.NotRetained) : (StreamEvent?)null;
            return (selected, 0, shortened, _replay.HeadSequence);
        }
        var from = Math.Max(1, _replay.HeadSequence - request.Tail + 1);
        return (_replay.After(from - 1), from - 1, null, 0);
    }

    private ValueTask Release(SubscriberQueue? queue)
    {
        lock (_gate)
            ReleaseLocked(queue);
        return ValueTask.CompletedTask;
    }

    private void ReleaseLocked(SubscriberQueue? queue)
    {
        if (queue is not null && _links.Remove(queue, out var link))
        {
            link.Dispose();
            queue.Complete();
        }
        _holders--;
        if (_holders == 0 && !_closed)
        {
            // The last client left: keep the upstream and its buffer for a returning client, then tear down.
            _idleTimer = _time.CreateTimer(static state => ((LogStream)state!).Close(onlyIfIdle: true), this, _options.IdleGrace, Timeout.InfiniteTimeSpan);
        }
    }

    private void Start()
    {
        State = UpstreamState.LoadingHistory;
        var period = _options.StallTimeout / 4;
        _stallTimer = _time.CreateTimer(static state => ((LogStream)state!).CloseStalledSubscribers(), this, period, period);
        _metrics.Upstreams.Add(1, _tags);
        _pump = Task.Run(() => PumpAsync(_upstreamCts.Token));
        _broadcast.Completion.ContinueWith(static (_, state) => ((LogStream)state!).OnGraphCompleted(), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private LogEntry[] Stamp(SourceRecord[] records)
    {
        var entries = new LogEntry[records.Length];
        lock (_gate)
        {
            for (var i = 0; i < records.Length; i++)
            {
                var entry = new LogEntry(Key, ++_sequence, Epoch, records[i]);
                _replay.Append(entry);
                if (_sequence == _historyCount)
                    MarkHistoryLoadedLocked();
                entries[i] = entry;
            }
        }
        return entries;
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var resume = new ResumeFilter();
        try
        {
            var history = 0L;
            var start = SourceStart.History(_options.ReplayEntries);
            await foreach (var chunk in ChunkedRead.ReadAsync(token => _source.ReadAsync(Key, start, token), cancellationToken))
            {
                foreach (var record in chunk)
                    resume.Observe(record);
                history += chunk.Count;
                await SendAsync(chunk.ToArray(), cancellationToken);
            }
            lock (_gate)
            {
                _historyCount = history;
                if (_sequence == history)
                    MarkHistoryLoadedLocked();
            }
            await FollowAsync(resume, cancellationToken);
            SetState(UpstreamState.Ended);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _historyLoaded.TrySetCanceled(cancellationToken);
        }
        catch (Exception ex)
        {
            RecordError(ex);
            LogUpstreamFailed(_logger, Key, ex.Message, ex);
            lock (_gate)
            {
                _fault = ex;
                State = UpstreamState.Faulted;
            }
            _historyLoaded.TrySetException(ex);
        }
        // Completing (not faulting) the graph lets lines already read drain to every subscriber before the fault,
        // which each subscriber queue reads from _fault when completion reaches it.
        _sequencer.Complete();
    }

    /// <summary>The live read, reopened from where it stopped after each transient fault until it ends or gives up.</summary>
    private async Task FollowAsync(ResumeFilter resume, CancellationToken cancellationToken)
    {
        var backoff = _options.RetryInitialBackoff;
        long? failingSince = null;
        SetState(UpstreamState.Live);
        while (true)
        {
            var start = resume.Reopen(onConnected: () =>
            {
                if (failingSince is null)
                    return;
                failingSince = null;
                backoff = _options.RetryInitialBackoff;
                SetState(UpstreamState.Live);
                NotifyAll(new StreamNotice(StreamNoticeKind.UpstreamResumed, "The log source answers again; lines continue where they stopped."));
            });
            try
            {
                await foreach (var chunk in ChunkedRead.ReadAsync(token => _source.ReadAsync(Key, start, token), cancellationToken))
                {
                    // Repeats exist only at the start of a reopened read: the common chunk has none and is copied as it is.
                    chunk.RemoveAll(resume.IsRepeat);
                    if (chunk.Count == 0)
                        continue;
                    foreach (var record in chunk)
                        resume.Observe(record);
                    await SendAsync(chunk.ToArray(), cancellationToken);
                }
                return;
            }
            catch (LogSourceException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                var now = _time.GetTimestamp();
                if (failingSince is null)
                {
                    failingSince = now;
                    SetState(UpstreamState.Retrying);
                    NotifyAll(new StreamNotice(StreamNoticeKind.UpstreamRetrying, $"The log source stopped answering ({ex.Message}); retrying."));
                }
                else if (_time.GetElapsedTime(failingSince.Value) >= _options.RetryGiveUpAfter)
                {
                    throw;
                }
                RecordError(ex);
                _metrics.UpstreamReconnects.Add(1, _tags);
                LogUpstreamRetrying(_logger, Key, backoff, ex.Message);
                await Task.Delay(backoff, _time, cancellationToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.RetryMaxBackoff.Ticks));
            }
        }
    }

    private void RecordError(Exception ex)
    {
        var tags = _tags;
        tags.Add("kind", ex is LogSourceException source ? source.Kind.ToString().ToLowerInvariant() : "internal");
        _metrics.UpstreamErrors.Add(1, tags);
    }

    private async ValueTask SendAsync(SourceRecord[] records, CancellationToken cancellationToken)
    {
        _metrics.EntriesRead.Add(records.Length, _tags);
        if (!await _sequencer.SendAsync(records, cancellationToken))
            throw new InvalidOperationException("The sequencer stopped accepting lines.");
    }

    private void NotifyAll(StreamNotice notice)
    {
        lock (_gate)
        {
            foreach (var queue in _links.Keys)
                queue.Notify(notice);
        }
    }

    private void CloseStalledSubscribers()
    {
        List<SubscriberQueue>? stalled = null;
        lock (_gate)
        {
            foreach (var queue in _links.Keys)
            {
                if (queue.IsStalled(_options.StallTimeout))
                    (stalled ??= []).Add(queue);
            }
            if (stalled is null)
                return;
            foreach (var queue in stalled)
            {
                // Unlink now so the broadcast stops feeding it; the holder is released when the client's handler disposes.
                _links.Remove(queue, out var link);
                link!.Dispose();
            }
        }
        // Aborting cancels the client's sender, which may tear its socket down: never under the stream's lock.
        foreach (var queue in stalled)
        {
            queue.Abort(new SubscriberStalledException(_options.StallTimeout));
            LogSubscriberStalled(_logger, Key, _options.StallTimeout);
        }
    }

    private void OnGraphCompleted()
    {
        lock (_gate)
        {
            if (State is not (UpstreamState.Faulted or UpstreamState.Closed))
                State = UpstreamState.Ended;
            _closed = true;
            DisposeTimers();
            _links.Clear();
            _replay.ReleaseBudget();
        }
        _metrics.Upstreams.Add(-1, _tags);
        _onClosed(this);
    }

    private void MarkHistoryLoadedLocked()
    {
        if (State == UpstreamState.LoadingHistory)
            State = UpstreamState.Live;
        _historyLoaded.TrySetResult();
    }

    private void SetState(UpstreamState state)
    {
        lock (_gate)
        {
            if (State is not (UpstreamState.Faulted or UpstreamState.Closed))
                State = state;
        }
    }

    private void DisposeTimers()
    {
        _idleTimer?.Dispose();
        _idleTimer = null;
        _stallTimer?.Dispose();
        _stallTimer = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No subscriber came back to {Key} within the idle grace; closing its upstream.")]
    private static partial void LogIdleTeardown(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream of {Key} failed: {Reason}")]
    private static partial void LogUpstreamFailed(ILogger logger, StreamKey key, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream of {Key} is not answering ({Reason}); retrying in {Backoff}.")]
    private static partial void LogUpstreamRetrying(ILogger logger, StreamKey key, TimeSpan backoff, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A subscriber of {Key} took no lines for {Timeout} and was closed as stalled.")]
    private static partial void LogSubscriberStalled(ILogger logger, StreamKey key, TimeSpan timeout);
}
