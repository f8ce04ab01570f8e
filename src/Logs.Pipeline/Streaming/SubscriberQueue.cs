using System.Threading.Tasks.Dataflow;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// One subscriber's bounded queue, linked to its stream's BroadcastBlock. It holds chunks (the lines one upstream
/// read had ready, shared by every subscriber, never copied) and notices, and counts the lines and the bytes
/// (<see cref="LogEntry.ApproximateSize"/>, cached frames included) it holds.
/// It always accepts what it is offered: a BroadcastBlock silently skips a target that declines or postpones
/// (dotnet/runtime#1177), so the bounds are enforced here instead, by dropping the OLDEST queued chunks when the
/// lines, the bytes or the process-wide <see cref="BufferBudget"/> are exceeded. The reader sees the jump in sequence
/// numbers and reports a gap with the exact count, so nothing is lost without a trace.
/// A lossless queue (a subscriber's own direct read) makes its writer wait for room instead.
/// Its bytes count against the budget until the queue is closed: what a closed queue still holds is either drained by
/// a reader that is finishing or dropped with the subscription.
/// The items are a plain <see cref="Queue{T}"/> under the queue's own lock (every write and take already holds it): a
/// channel added a second lock per item and, created eagerly, about 1.5 KiB per idle subscriber.
/// </summary>
internal sealed class SubscriberQueue : ITargetBlock<LogEntry[]>
{
    // Unbounded: the bound is in lines, not items, and the writer enforces it by taking the oldest chunk from the head.
    // Under _gate; empty until the first item (no array for an idle subscriber).
    private readonly Queue<QueuedItem> _items = new();
    // The most items held since the queue was last empty: a queue that grew large in a burst lets its array go once
    // drained, so an idle viewer that once was busy holds what an idle one does.
    private int _itemsPeak;
    private const int TrimAbove = 64;
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly BufferBudget? _budget;
    private readonly bool _lossless;
    private readonly TimeProvider _time;
    private readonly Func<Exception?> _terminalFault;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _aborted = new();
    private long _lastEnqueued;
    private long _dropped;
    private int _queued;
    private long _queuedBytes;
    private const int MaxDroppedNotices = 4;
    private readonly Queue<StreamNotice> _droppedNotices = new();
    private StreamNotice? _lastNotice;
    private long _progressTimestamp;
    private TaskCompletionSource? _room;
    // A reader waiting for an item (or the close); completed and cleared by the next write or the close. Under _gate.
    private TaskCompletionSource? _readable;
    private TaskCompletionSource? _completion;
    // A reader that waits on its own (the WebSocket sender) arms a callback instead: no task per wait, and its wake is
    // one signal from the writer, not a task continuation that signals it. Under _gate; called once per arm.
    private Action<object?>? _wake;
    private object? _wakeState;
    private bool _wakeArmed;
    private bool _closed;
    private Exception? _fault;

    /// <param name="capacity">Lines held before the oldest chunks are dropped (or, lossless, before the writer waits).</param>
    /// <param name="lastEnqueued">Highest sequence number the subscriber already has (from its replay snapshot); anything at or below it is a duplicate.</param>
    /// <param name="lossless">For a subscriber's own read: the writer waits for room instead of dropping.</param>
    /// <param name="time">Clock for stall detection.</param>
    /// <param name="terminalFault">The stream's fault, read when the stream completes, so queued lines drain before the error.</param>
    /// <param name="maxBytes">Bytes held before the oldest chunks are dropped (or, lossless, before the writer waits).</param>
    /// <param name="budget">The process-wide budget this queue's bytes count against; null for none.</param>
    public SubscriberQueue(int capacity, long lastEnqueued, bool lossless, TimeProvider time, Func<Exception?> terminalFault,
        long maxBytes = long.MaxValue, BufferBudget? budget = null)
    {
        _capacity = capacity;
        _maxBytes = maxBytes;
        _budget = budget;
        _lossless = lossless;
        _lastEnqueued = lastEnqueued;
        _time = time;
        _terminalFault = terminalFault;
        _progressTimestamp = time.GetTimestamp();
    }

    /// <summary>Lines dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Lines queued.</summary>
    public int Count => Volatile.Read(ref _queued);

    /// <summary>Bytes of the lines queued (<see cref="LogEntry.ApproximateSize"/>).</summary>
    public long Bytes => Volatile.Read(ref _queuedBytes);

    /// <summary>Cancelled when the pipeline closes this subscriber (stalled); a sender waiting on a socket write should stop.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Completes once the queue is closed and everything in it was read (as a channel's reader's does).</summary>
    public Task Completion
    {
        get
        {
            lock (_gate)
            {
                _completion ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                CompleteIfDrainedLocked();
                return _completion.Task;
            }
        }
    }

    public DataflowMessageStatus OfferMessage(DataflowMessageHeader messageHeader, LogEntry[] messageValue, ISourceBlock<LogEntry[]>? source, bool consumeToAccept)
    {
        if (consumeToAccept)
        {
            messageValue = source!.ConsumeMessage(messageHeader, this, out var consumed)!;
            if (!consumed)
                return DataflowMessageStatus.NotAvailable;
        }
        Enqueue(messageValue);
        return DataflowMessageStatus.Accepted;
    }

    /// <summary>
    /// Queues the new part of a chunk of live entries (a BroadcastBlock re-offers its current chunk at link time, and
    /// the replay snapshot may already hold its head), dropping the oldest queued chunks past the bound.
    /// </summary>
    public void Enqueue(LogEntry[] chunk)
    {
        if (NoticeChunk.TryGet(chunk, out var notice))
        {
            Notify(notice);
            return;
        }
        lock (_gate)
        {
            var start = 0;
            while (start < chunk.Length && chunk[start].Sequence <= _lastEnqueued)
                start++;
            if (start == chunk.Length)
                return;
            // A chunk larger than the whole queue (in lines or in bytes) keeps only its newest lines, at least one.
            var kept = Math.Max(start, chunk.Length - _capacity);
            var bytes = 0L;
            var first = chunk.Length;
            while (first > kept)
            {
                var size = chunk[first - 1].ApproximateSize;
                if (first < chunk.Length && bytes + size > _maxBytes)
                    break;
                bytes += size;
                first--;
            }
            if (first > start)
                Interlocked.Add(ref _dropped, first - start);
            _lastEnqueued = chunk[^1].Sequence;
            if (!WriteLocked(new QueuedItem(chunk, first, bytes)))
                return;
            // The reader takes from the head under the same lock, so the counts are exact here. The newest item stays:
            // over the process budget a queue gives up its own oldest lines, and never more than it holds.
            while ((_queued > _capacity || _queuedBytes > _maxBytes || _budget is { IsExceeded: true })
                   && _items.Count > 1 && _items.TryDequeue(out var oldest))
            {
                TakenLocked(oldest);
                Interlocked.Add(ref _dropped, oldest.Count);
                // A notice is a change of state, not a line: it is not counted in a gap, so it must not vanish.
                // Everything dropped was older than what stays, so it is given first on the next read.
                if (oldest.Notice is { } dropped)
                {
                    // The newest few are enough to tell what happened (retrying, resumed, retrying…).
                    if (_droppedNotices.Count == MaxDroppedNotices)
                        _droppedNotices.Dequeue();
                    _droppedNotices.Enqueue(dropped);
                }
            }
        }
    }

    /// <summary>
    /// Queues a chunk of a subscriber's own read, waiting while the queue holds its capacity in lines or in bytes, or
    /// while it holds anything and the process budget is exceeded (lossless queues only). A chunk larger than the byte
    /// bound is queued in parts, each waiting for room, so the queue overshoots its bound by at most one line.
    /// </summary>
    public async ValueTask WriteAsync(LogEntry[] chunk, CancellationToken cancellationToken)
    {
        var bytes = 0L;
        foreach (var entry in chunk)
            bytes += entry.ApproximateSize;
        if (bytes <= _maxBytes)
        {
            await WritePartAsync(chunk, bytes, cancellationToken).ConfigureAwait(false);
            return;
        }
        var start = 0;
        while (start < chunk.Length)
        {
            var end = start;
            var partBytes = 0L;
            while (end < chunk.Length && (end == start || partBytes + chunk[end].ApproximateSize <= _maxBytes))
                partBytes += chunk[end++].ApproximateSize;
            await WritePartAsync(chunk[start..end], partBytes, cancellationToken).ConfigureAwait(false);
            start = end;
        }
    }

    private async ValueTask WritePartAsync(LogEntry[] chunk, long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task room;
            lock (_gate)
            {
                // A queue the pipeline has closed takes nothing more: the writer is not kept waiting for a reader that is gone.
                if (HasRoomLocked() || _closed)
                {
                    WriteLocked(new QueuedItem(chunk, 0, bytes));
                    return;
                }
                _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                room = _room.Task;
            }
            await room.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Queues a notice in its place among the lines. An overflow drops the oldest items whatever they are, so a
    /// subscriber a whole queue behind may miss a notice as it misses lines (and it is told of the lines by a gap).
    /// </summary>
    public void Notify(StreamNotice notice)
    {
        lock (_gate)
        {
            // A joiner told of a retry when it attached may see the same notice again from the graph.
            if (ReferenceEquals(notice, _lastNotice))
                return;
            _lastNotice = notice;
            WriteLocked(new QueuedItem(notice));
        }
    }

    /// <summary>
    /// Takes the next chunk or notice. Under the writer's lock: a writer dropping the oldest chunks must not count
    /// one the reader already has, and a lossless writer must not miss the room this take makes.
    /// </summary>
    public bool TryRead(out QueuedItem item)
    {
        lock (_gate)
        {
            if (_droppedNotices.TryDequeue(out var notice))
            {
                item = new QueuedItem(notice);
                return true;
            }
            var taken = _items.TryDequeue(out item);
            if (_items.Count == 0 && _itemsPeak > TrimAbove)
            {
                _items.TrimExcess();
                _itemsPeak = 0;
            }
            CompleteIfDrainedLocked();
            if (!taken)
                return false;
            NoteProgress();
            if (item.Count > 0)
            {
                TakenLocked(item);
                if (_room is not null && HasRoomLocked())
                {
                    _room.TrySetResult();
                    _room = null;
                }
            }
            return true;
        }
    }

    /// <summary>The reader took a line (from a chunk it holds, or a new one): it is not stalled.</summary>
    public void NoteProgress() => Volatile.Write(ref _progressTimestamp, _time.GetTimestamp());

    /// <summary>Waits until <see cref="TryRead"/> has something (true), or the queue is closed and empty (false).</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task readable;
            lock (_gate)
            {
                if (_items.Count > 0 || _droppedNotices.Count > 0)
                    return true;
                if (_closed)
                    return false;
                _readable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                readable = _readable.Task;
            }
            await readable.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Arms <paramref name="wake"/> to be called once, by the next write or the close, when nothing is readable now.
    /// True when armed; false when an item is waiting or the queue is closed (read, or end, at once). The callback runs
    /// on the writer's thread under the queue's lock, so it must only signal (set a flag, complete a wait).
    /// </summary>
    public bool TryArmWake(Action<object?> wake, object? state)
    {
        lock (_gate)
        {
            if (_items.Count > 0 || _droppedNotices.Count > 0 || _closed)
                return false;
            _wake = wake;
            _wakeState = state;
            _wakeArmed = true;
            return true;
        }
    }

    /// <summary>True when lines are waiting and none was taken for <paramref name="timeout"/>.</summary>
    public bool IsStalled(TimeSpan timeout) =>
        Volatile.Read(ref _queued) > 0 && _time.GetElapsedTime(Volatile.Read(ref _progressTimestamp)) >= timeout;

    public void Complete()
    {
        var fault = _terminalFault();
        if (fault is not null)
            Interlocked.CompareExchange(ref _fault, fault, null);
        Close();
    }

    void IDataflowBlock.Fault(Exception exception)
    {
        Interlocked.CompareExchange(ref _fault, exception, null);
        Close();
    }

    /// <summary>Closes the subscriber from the pipeline's side: no more entries, a fault for the reader, and the sender's token cancelled.</summary>
    public void Abort(Exception reason)
    {
        Interlocked.CompareExchange(ref _fault, reason, null);
        Close();
        _aborted.Cancel();
    }

    /// <summary>No more items; a lossless writer waiting for room is let go (what it writes then is dropped).</summary>
    private void Close()
    {
        lock (_gate)
        {
            // What is still queued no longer counts against the process budget (see the class summary).
            if (!_closed)
                _budget?.ChargeQueued(-_queuedBytes);
            _closed = true;
            WakeReaderLocked();
            CompleteIfDrainedLocked();
            _room?.TrySetResult();
            _room = null;
        }
    }

    /// <returns>False when the queue is closed and the item was not queued.</returns>
    private bool WriteLocked(QueuedItem item)
    {
        if (_closed)
            return false;
        _items.Enqueue(item);
        if (_items.Count > _itemsPeak)
            _itemsPeak = _items.Count;
        WakeReaderLocked();
        if (item.Count == 0)
            return true;
        if (_queued == 0)
            NoteProgress();
        Volatile.Write(ref _queued, _queued + item.Count);
        Volatile.Write(ref _queuedBytes, _queuedBytes + item.Bytes);
        _budget?.ChargeQueued(item.Bytes);
        return true;
    }

    private void WakeReaderLocked()
    {
        // Its continuation runs asynchronously: the reader does not run under this lock.
        _readable?.TrySetResult();
        _readable = null;
        if (_wakeArmed)
        {
            // Not kept once called: a queue must not keep a reader that may be gone (its socket, its subscription).
            var (wake, state) = (_wake!, _wakeState);
            _wakeArmed = false;
            _wake = null;
            _wakeState = null;
            wake(state);
        }
    }

    private void CompleteIfDrainedLocked()
    {
        if (_closed && _items.Count == 0 && _droppedNotices.Count == 0)
            _completion?.TrySetResult();
    }

    /// <summary>An item left the queue, to its reader or dropped.</summary>
    private void TakenLocked(QueuedItem item)
    {
        Volatile.Write(ref _queued, _queued - item.Count);
        Volatile.Write(ref _queuedBytes, _queuedBytes - item.Bytes);
        if (!_closed)
            _budget?.ChargeQueued(-item.Bytes);
    }

    /// <summary>A lossless writer may add: below both bounds, and an empty queue even over the process budget.</summary>
    private bool HasRoomLocked() =>
        _queued < _capacity && _queuedBytes < _maxBytes && (_queued == 0 || _budget is not { IsExceeded: true });
}

/// <summary>What a subscriber queue holds: the lines of a shared chunk from <see cref="Start"/> on, or a notice.</summary>
internal readonly struct QueuedItem
{
    public QueuedItem(LogEntry[] entries, int start, long bytes)
    {
        Entries = entries;
        Start = start;
        Bytes = bytes;
    }

    public QueuedItem(StreamNotice notice) => Notice = notice;

    public LogEntry[]? Entries { get; }

    public int Start { get; }

    /// <summary>Bytes of the lines in this item (<see cref="LogEntry.ApproximateSize"/>), as charged when it was queued.</summary>
    public long Bytes { get; }

    public StreamNotice? Notice { get; }

    /// <summary>Lines in this item.</summary>
    public int Count => Entries is null ? 0 : Entries.Length - Start;
}
