using System.Security.Cryptography;
using System.Threading.Tasks.Dataflow;
using System.Diagnostics;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Positions;
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
    private readonly PartitionTails? _tails;
    private readonly BufferBudget _budget;
    private readonly TransformBlock<Ingest, LogEntry[]> _sequencer;
    private readonly BroadcastBlock<LogEntry[]> _broadcast;
    private readonly TaskCompletionSource _historyLoaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<SubscriberQueue, IDisposable> _links = [];
    private int _holders;
    private bool _closed;
    private Exception? _fault;
    private long _sequence;
    private long _historyCount = -1;
    private ITimer? _idleTimer;
    private long _idleGeneration;
    private StreamNotice? _retrying;
    private ITimer? _stallTimer;
    private Task _pump = Task.CompletedTask;
    // Cursors of clients waiting for this stream (its history) that may need a catch-up read: the first catch-up reads
    // from the earliest of them, so a reconnect herd costs one read, not one per client.
    private readonly List<StreamPosition> _waitingResumes = [];
    private SharedCatchUp? _catchUp;
    private const int MaxWaitingResumes = 10_000;
    // Where the live read starts for partitions not yet seen: set with the history's end (before a client can attach)
    // and, after a reopen, with the reopened read's first lines, so it changes in order with the lines it is about.
    private LiveReadStart? _liveRead;

    /// <summary>A catch-up read in flight (or done) from <paramref name="From"/>, shared by every client it covers.</summary>
    private sealed record SharedCatchUp(StreamPosition From, Task<CatchUp> Read);

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
        _tails = source.TailPartitionKey is { } partitionKey ? new PartitionTails(partitionKey, options.ReplayEntries, options.TailPartitions, options.ReplayBytes) : null;
        // The ingest bound is in lines; the blocks count chunks of up to ChunkedRead.MaxRecords lines.
        var ingestChunks = Math.Max(2, options.IngestBufferEntries / ChunkedRead.MaxRecords);
        _sequencer = new TransformBlock<Ingest, LogEntry[]>(Stamp, new ExecutionDataflowBlockOptions
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
    public bool TryAcquire(StreamPosition? resumeFrom = null)
    {
        lock (_gate)
        {
            if (_closed)
                return false;
            _holders++;
            if (resumeFrom is not null && _waitingResumes.Count < MaxWaitingResumes)
                _waitingResumes.Add(resumeFrom);
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
    public LogSubscription Attach(SubscriptionRequest request) => TryAttach(request, catchUp: null, force: true)!;

    /// <summary>
    /// Attaches a client that resumes from a cursor. Null (the holder kept) when the cursor is of another life of the
    /// stream and the replay buffer no longer reaches back to its position in some partition: the caller reads the
    /// lines in between from the source (<paramref name="catchUp"/>) and attaches again with the position after them.
    /// </summary>
    public LogSubscription? TryAttach(SubscriptionRequest request, CatchUp? catchUp, bool force)
    {
        lock (_gate)
        {
            var take = TakeHistory(request, catchUp);
            if (take is null)
            {
                // Not attached: the cursor stays among the waiting ones until its catch-up starts (CatchUpAsync), so a
                // later client of the herd that asks first still reads from this earliest cursor.
                if (!force)
                    return null;
                take = TakeResume(catchUp?.Position ?? request.Cursor!.Position, catchUp);
            }
            if (request.Cursor is { } waiting)
                _waitingResumes.Remove(waiting.Position);
            var (history, lastDelivered, leading, selectedEnd, resume) = take;
            if (_closed || !request.Follow)
            {
                // The upstream has ended (or the client wants history only): serve the buffer and finish.
                ReleaseLocked(null);
                return new LogSubscription(Key, Epoch, history, lastDelivered, live: null, release: null, leading, _fault, selectedEnd, resume);
            }
            var queue = new SubscriberQueue(_options.SubscriberQueueEntries, _replay.HeadSequence, lossless: false, _time, () => _fault, _options.SubscriberQueueBytes, _budget);
            _links.Add(queue, _broadcast.LinkTo(queue, PropagateCompletion));
            if (_retrying is { } retrying)
                queue.Notify(retrying);
            return new LogSubscription(Key, Epoch, history, lastDelivered, queue, Release, leading, selectedHistoryEnd: selectedEnd, resume: resume)
            {
                LiveRead = _liveRead,
                HistoryListsEveryPartition = _tails is not { DroppedPartition: true },
            };
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
            // A partitioned tail is taken from the per-partition tails, which hold it whatever the ring dropped.
            var wanted = request.ResumeAfter is not null || request.Cursor is not null || _tails is not null ? _replay.OldestSequence
                : Math.Max(1, _replay.HeadSequence - request.Tail + 1);
            // Only a live stream's buffer is current: while it retries, has failed or is closing, lines written since
            // its last read are not in it, so the caller reads the source directly.
            if (!_historyLoaded.Task.IsCompletedSuccessfully || State != UpstreamState.Live || _replay.OldestSequence > wanted)
            {
                subscription = null!;
                return false;
            }
            var take = TakeHistory(request, catchUp: null);
            if (take is null)
            {
                subscription = null!;
                return false;
            }
            var (history, lastDelivered, leading, selectedEnd, resume) = take;
            subscription = new LogSubscription(Key, Epoch, history, lastDelivered, live: null, release: null, leading, selectedHistoryEnd: selectedEnd, resume: resume);
            return true;
        }
    }

    /// <summary>
    /// Everything the replay buffer holds, as a history-only subscription, while the stream is live (its buffer is
    /// current); null otherwise. A query looks for its time range or its matching lines in it.
    /// </summary>
    internal LogSubscription? TrySnapshot()
    {
        lock (_gate)
        {
            if (!_historyLoaded.Task.IsCompletedSuccessfully || State != UpstreamState.Live)
                return null;
            return new LogSubscription(Key, Epoch, _replay.After(_replay.OldestSequence - 1), _replay.OldestSequence - 1, live: null, release: null);
        }
    }

    /// <summary>
    /// The lines between <paramref name="from"/> (a cursor the buffer does not reach) and now, for one client. Clients
    /// of a reconnect herd share one read: the first one reads from the earliest cursor waiting for this stream, and
    /// every client whose cursor that read covers (<see cref="CatchUp.Covers"/>) takes its own suffix of it; a read done
    /// is reused while the buffer still reaches its end. A client it cannot serve (a cursor earlier than a read under
    /// way, or a read cut at its byte bound) reads on its own, as before.
    /// </summary>
    public async Task<CatchUp> CatchUpAsync(StreamPosition from, CancellationToken cancellationToken)
    {
        SharedCatchUp shared;
        lock (_gate)
        {
            _waitingResumes.Remove(from);
            if (_catchUp is { } current && CatchUp.Covers(current.From, from)
                && (!current.Read.IsCompleted || (current.Read.IsCompletedSuccessfully && !current.Read.Result.Truncated && Reaches(current.Read.Result.Position))))
            {
                shared = current;
            }
            else
            {
                var earliest = from;
                foreach (var waiting in _waitingResumes)
                {
                    if (CatchUp.Covers(waiting, earliest))
                        earliest = waiting;
                }
                _waitingResumes.RemoveAll(waiting => CatchUp.Covers(earliest, waiting));
                // Not under the lock (the read starts with an inspect), and not the first client's to cancel: the
                // others wait for it too. It ends with the stream.
                var token = _upstreamCts.Token;
                var start = earliest;
                shared = new SharedCatchUp(start, Task.Run(() => CatchUp.ReadAsync(_source, Key, Epoch, start, _options, _time, token), CancellationToken.None));
                _catchUp = shared;
            }
        }
        var read = await shared.Read.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (ReferenceEquals(shared.From, from))
            return read;
        if (read.Truncated)
            return await CatchUp.ReadAsync(_source, Key, Epoch, from, _options, _time, cancellationToken).ConfigureAwait(false);
        return read.After(from, Key, Epoch, _source.TailPartitionKey, _options, _time);
    }

    /// <summary>
    /// Releases a holder that never attached (it gave up while the history loaded, or during its catch-up), with the
    /// cursor it acquired with: left among the waiting ones, it would make a later catch-up start from a client that is
    /// gone, earlier than anyone still waiting needs (a longer read, and for nobody).
    /// </summary>
    public void ReleaseUnattached(StreamPosition? resumeFrom = null)
    {
        lock (_gate)
        {
            // By reference (StreamPosition has no value equality): an equal cursor of another waiting client stays.
            if (resumeFrom is not null)
                _waitingResumes.Remove(resumeFrom);
            ReleaseLocked(null);
        }
    }

    /// <summary>Cancels the upstream now, whatever the subscribers (shutdown).</summary>
    public void Close() => Close(idleGeneration: null);

    /// <summary>
    /// The idle timer of <paramref name="generation"/> fired. A timer's callback can run after it was disposed (it was
    /// already on its way when a client came back and left again), so only the newest timer may close the stream.
    /// </summary>
    internal void OnIdleTimer(long generation) => Close(idleGeneration: generation);

    private void Close(long? idleGeneration)
    {
        var onlyIfIdle = idleGeneration is not null;
        lock (_gate)
        {
            // The idle check and the closing happen under one lock: a client acquiring between them would
            // otherwise attach to a stream whose upstream is being cancelled.
            if (_closed || onlyIfIdle && (_holders > 0 || idleGeneration != _idleGeneration))
                return;
            _closed = true;
            State = UpstreamState.Closed;
            DisposeTimers();
        }
        if (onlyIfIdle)
            LogIdleTeardown(_logger, Key);
        try
        {
            _upstreamCts.Cancel();
        }
        catch (AggregateException ex)
        {
            // A callback registered on the upstream token threw. This runs on a timer thread, where an exception
            // would end the process: log it, the teardown goes on.
            LogTeardownCallbackFailed(_logger, Key, ex);
        }
        // A stream that never started has no pump to complete the graph.
        _sequencer.Complete();
        _onClosed(this);
    }

    /// <summary>What a new subscription starts with: its history from the buffer and how to read what follows.</summary>
    private sealed record HistoryTake(LogEntry[] History, long LastDelivered, StreamEvent? Leading, long SelectedEnd, CursorFilter<LogEntry>? Resume = null);

    /// <summary>The history for a request; null when a cursor's position is not in the buffer (see <see cref="TryAttach"/>).</summary>
    private HistoryTake? TakeHistory(SubscriptionRequest request, CatchUp? catchUp)
    {
        if (request.Cursor is { } cursor)
        {
            // The same life of the stream: the sequence number is exact while the buffer still holds it.
            if (catchUp is null && cursor.Epoch == Epoch && cursor.Sequence > 0 && cursor.Sequence <= _replay.HeadSequence && cursor.Sequence >= _replay.OldestSequence - 1)
                return new HistoryTake(_replay.After(cursor.Sequence), cursor.Sequence, null, 0);
            var position = catchUp?.Position ?? cursor.Position;
            return Reaches(position) ? TakeResume(position, catchUp) : null;
        }
        if (request.ResumeAfter is { } resume)
        {
            if (resume.Epoch == Epoch && resume.Sequence <= _replay.HeadSequence && resume.Sequence >= 0)
                return new HistoryTake(_replay.After(resume.Sequence), resume.Sequence, null, 0);
            // Sequence numbers of another epoch mean nothing here: serve the tail and say the count is unknown.
            var tail = TakeHistory(request with { ResumeAfter = null }, null)!;
            return tail with { Leading = StreamEvent.ForGap(-1, GapReason.StreamRestarted) };
        }
        if (_tails is not null)
        {
            // A selection, not a contiguous range: the subscription must not read the holes as gaps. When a partition
            // was dropped for the partition bound, its lines cannot be given: say so, count unknown.
            var (selected, complete) = _tails.Last(request.Tail);
            var shortened = complete ? (StreamEvent?)null : StreamEvent.ForGap(-1, GapReason.NotRetained);
            return new HistoryTake(selected, 0, shortened, _replay.HeadSequence);
        }
        var from = Math.Max(1, _replay.HeadSequence - request.Tail + 1);
        return new HistoryTake(_replay.After(from - 1), from - 1, null, 0);
    }

    /// <summary>
    /// A resume from a position of another life of the stream (or of another process): the whole buffer, filtered
    /// per partition down to the lines after the position, then the live lines through the same filter until every
    /// partition's last line was found again. A catch-up read's lines come first.
    /// </summary>
    private HistoryTake TakeResume(StreamPosition position, CatchUp? catchUp)
    {
        var buffered = _replay.After(_replay.OldestSequence - 1);
        var history = catchUp is null ? buffered : [.. catchUp.Entries, .. buffered];
        var filter = new CursorFilter<LogEntry>(position, _source.TailPartitionKey, _options.SeamMargin, _options.RepeatWindowEntries);
        return new HistoryTake(history, _replay.OldestSequence - 1, null, 0, filter);
    }

    /// <summary>
    /// Whether the buffer reaches back to a position: in every partition it names, the buffer holds its last line, or
    /// holds no line stamped after it (the stream has not got there yet, or the partition is quiet).
    /// </summary>
    private bool Reaches(StreamPosition position)
    {
        var unresolved = new Dictionary<ulong, PartitionPosition>();
        foreach (var at in position.PartitionArray)
            unresolved[at.Partition] = at;
        var found = new HashSet<ulong>();
        foreach (var entry in _replay.After(_replay.OldestSequence - 1))
        {
            if (entry.IsIncompleteMarker)
                continue;
            var partition = PositionTracker.PartitionOf(entry.Record, _source.TailPartitionKey);
            if (!unresolved.TryGetValue(partition, out var at) || found.Contains(partition))
                continue;
            if (entry.Line == at.LastLine && entry.Timestamp.UnixNanoseconds == at.LastTimestamp)
                found.Add(partition);
            else if (entry.Timestamp.UnixNanoseconds > at.LastTimestamp)
                return false;
        }
        // A partition not met at all: fine while the ring still holds everything it ever read (the partition wrote
        // nothing since); once it has dropped lines, that partition's later lines may be among them (a quiet task
        // beside busy ones): read them from the source.
        return found.Count == unresolved.Count || _replay.OldestSequence == 1;
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
            var generation = ++_idleGeneration;
            _idleTimer = _time.CreateTimer(state => ((LogStream)state!).OnIdleTimer(generation), this, _options.IdleGrace, Timeout.InfiniteTimeSpan);
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

    /// <summary>
    /// What the pump hands the sequencer: lines, or a notice that must keep its place after them. The first lines of a
    /// reopened live read carry where it started (<see cref="LiveReadStart"/>).
    /// </summary>
    private readonly record struct Ingest(PositionedRecord[] Records, StreamNotice? Notice = null, LiveReadStart? LiveRead = null);

    private LogEntry[] Stamp(Ingest ingest)
    {
        if (ingest.Notice is { } notice)
            return NoticeChunk.Create(notice);
        var records = ingest.Records;
        var entries = new LogEntry[records.Length];
        lock (_gate)
        {
            if (ingest.LiveRead is { } liveRead)
                _liveRead = liveRead;
            for (var i = 0; i < records.Length; i++)
            {
                var (record, line, position) = records[i];
                var entry = new LogEntry(Key, ++_sequence, Epoch, record, line, position);
                _replay.Append(entry);
                _tails?.Append(entry);
                if (_sequence == _historyCount)
                    MarkHistoryLoadedLocked();
                entries[i] = entry;
            }
        }
        return entries;
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var tracker = new PositionTracker(_source.TailPartitionKey, _options.CursorPartitions, _options.RepeatWindowEntries);
        try
        {
            var history = 0L;
            var start = SourceStart.History(_options.ReplayEntries);
            await foreach (var chunk in ChunkedRead.ReadAsync(token => _source.ReadAsync(Key, start, token), cancellationToken))
            {
                var positioned = Position(chunk, tracker, seam: null);
                history += positioned.Length;
                if (positioned.Length > 0)
                    await SendAsync(positioned, cancellationToken);
            }
            var liveRead = LiveReadStart.At(tracker.Position, _options.SeamMargin);
            lock (_gate)
            {
                _liveRead = liveRead;
                _historyCount = history;
                if (_sequence == history)
                    MarkHistoryLoadedLocked();
            }
            await FollowAsync(tracker, liveRead, cancellationToken);
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

    /// <summary>
    /// The live read, reopened after each transient fault until it ends or gives up. Every read (the first one after
    /// the history, too) starts <see cref="PipelineOptions.SeamMargin"/> before the newest partition's last line (lowered
    /// for partitions whose last line falls near that point, <see cref="PositionTracker.ReadFrom"/>) and
    /// finds each partition's last line again by identity, so nothing is repeated and a line stamped earlier but
    /// written later is not lost. The backoff and the give-up clock reset only once a reopened read gave lines: a read
    /// that connects and fails at once (Docker's "Error grabbing logs") must not loop forever.
    /// </summary>
    private async Task FollowAsync(PositionTracker tracker, LiveReadStart first, CancellationToken cancellationToken)
    {
        var backoff = _options.RetryInitialBackoff;
        long? failingSince = null;
        SetState(UpstreamState.Live);
        var reopened = false;
        while (true)
        {
            var position = tracker.Position;
            var read = reopened ? LiveReadStart.At(position, _options.SeamMargin) : first;
            var since = read.From;
            var start = since is { } from ? SourceStart.LiveFrom(from) : SourceStart.LiveAll();
            var seam = new CursorFilter<SourceRecord>(position, _source.TailPartitionKey, _options.SeamMargin, _options.RepeatWindowEntries, since);
            // The first read's start was set with the history; a reopened read's goes with its first lines.
            var liveRead = reopened ? read : null;
            reopened = true;
            try
            {
                await foreach (var chunk in ChunkedRead.ReadAsync(token => _source.ReadAsync(Key, start, token), cancellationToken))
                {
                    var positioned = Position(chunk, tracker, seam);
                    // Healthy only once a new line got through: a reopened read always starts by giving the margin's
                    // lines again, and one that does only that and fails must not reset the give-up clock.
                    if (failingSince is not null && positioned.Any(p => p.Line != 0))
                    {
                        failingSince = null;
                        backoff = _options.RetryInitialBackoff;
                        SetState(UpstreamState.Live);
                        await NotifyAllAsync(new StreamNotice(StreamNoticeKind.UpstreamResumed, "The log source answers again; lines continue where they stopped."), cancellationToken);
                    }
                    if (positioned.Length > 0)
                    {
                        await SendAsync(positioned, cancellationToken, liveRead);
                        liveRead = null;
                    }
                }
                var held = new List<SourceRecord?>();
                seam.Finish(held);
                if (held.Count > 0)
                    await SendAsync(Position([.. held], tracker, seam: null), cancellationToken);
                return;
            }
            catch (LogSourceException ex) when (ex.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                var now = _time.GetTimestamp();
                if (failingSince is null)
                {
                    failingSince = now;
                    SetState(UpstreamState.Retrying);
                    await NotifyAllAsync(new StreamNotice(StreamNoticeKind.UpstreamRetrying, $"The log source stopped answering ({ex.Message}); retrying."), cancellationToken);
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

    /// <summary>
    /// Gives each line of a chunk its identity and the stream's position after it, dropping lines already passed on:
    /// at a seam those the filter finds again, anywhere a line Docker sends twice. A null from the seam filter (a
    /// partition whose last line could not be found again) becomes a marker, so clients see a gap, not silence.
    /// </summary>
    private PositionedRecord[] Position(IReadOnlyList<SourceRecord?> chunk, PositionTracker tracker, CursorFilter<SourceRecord>? seam)
    {
        var result = new List<PositionedRecord>(chunk.Count);
        List<SourceRecord?>? passed = null;
        foreach (var record in chunk)
        {
            if (record is null)
            {
                result.Add(SeamLost(LogTimestamp.FromDateTimeOffset(_time.GetUtcNow()), tracker));
                continue;
            }
            if (record.Incomplete is not null)
            {
                result.Add(new PositionedRecord(record, 0, tracker.Position));
                continue;
            }
            var line = LineIdentity.Of(record);
            if (seam is { Settled: false })
            {
                (passed ??= []).Clear();
                seam.Offer(record, record, line, passed);
                foreach (var item in passed)
                {
                    if (item is null)
                        result.Add(SeamLost(record.Timestamp, tracker));
                    else
                        Add(item, ReferenceEquals(item, record) ? line : LineIdentity.Of(item));
                }
                continue;
            }
            Add(record, line);
        }
        return [.. result];

        static PositionedRecord SeamLost(LogTimestamp at, PositionTracker tracker) =>
            new(SourceRecord.IncompleteMarker(at, "The log source was reopened and the last line shown could not be found again; lines may be missing here."), 0, tracker.Position);

        void Add(SourceRecord record, ulong line)
        {
            if (tracker.IsRepeat(line))
            {
                _metrics.EntriesRepeated.Add(1, _tags);
                return;
            }
            result.Add(new PositionedRecord(record, line, tracker.Advance(record, line)));
        }
    }

    private void RecordError(Exception ex)
    {
        var tags = _tags;
        tags.Add("kind", ex is LogSourceException source ? source.Kind.ToString().ToLowerInvariant() : "internal");
        _metrics.UpstreamErrors.Add(1, tags);
    }

    private async ValueTask SendAsync(PositionedRecord[] records, CancellationToken cancellationToken, LiveReadStart? liveRead = null)
    {
        _metrics.EntriesRead.Add(records.Length, _tags);
        if (!await _sequencer.SendAsync(new Ingest(records, LiveRead: liveRead), cancellationToken))
            throw new InvalidOperationException("The sequencer stopped accepting lines.");
    }

    /// <summary>
    /// Tells every subscriber, through the graph itself so the notice comes after every line read before it; a client
    /// that joins while the stream retries is told when it attaches.
    /// </summary>
    private async ValueTask NotifyAllAsync(StreamNotice notice, CancellationToken cancellationToken)
    {
        lock (_gate)
            _retrying = notice.Kind == StreamNoticeKind.UpstreamRetrying ? notice : null;
        if (!await _sequencer.SendAsync(new Ingest([], notice), cancellationToken))
            throw new InvalidOperationException("The sequencer stopped accepting lines.");
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
            try
            {
                queue.Abort(new SubscriberStalledException(_options.StallTimeout));
            }
            catch (AggregateException ex)
            {
                // A timer thread must not throw: a session's registration on the abort token failed; the others go on.
                LogTeardownCallbackFailed(_logger, Key, ex);
            }
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

    [LoggerMessage(Level = LogLevel.Error, Message = "A callback registered on a cancellation of {Key} threw; the teardown went on.")]
    private static partial void LogTeardownCallbackFailed(ILogger logger, StreamKey key, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "No subscriber came back to {Key} within the idle grace; closing its upstream.")]
    private static partial void LogIdleTeardown(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream of {Key} failed: {Reason}")]
    private static partial void LogUpstreamFailed(ILogger logger, StreamKey key, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream of {Key} is not answering ({Reason}); retrying in {Backoff}.")]
    private static partial void LogUpstreamRetrying(ILogger logger, StreamKey key, TimeSpan backoff, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A subscriber of {Key} took no lines for {Timeout} and was closed as stalled.")]
    private static partial void LogSubscriberStalled(ILogger logger, StreamKey key, TimeSpan timeout);
}
