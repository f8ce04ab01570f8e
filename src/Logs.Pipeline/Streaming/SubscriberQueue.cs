using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// One subscriber's bounded queue, linked to its stream's BroadcastBlock. It holds chunks (the lines one upstream
/// read had ready, shared by every subscriber, never copied) and notices, and counts the lines it holds.
/// It always accepts what it is offered: a BroadcastBlock silently skips a target that declines or postpones
/// (dotnet/runtime#1177), so the bound is enforced here instead, by dropping the OLDEST queued chunks. The reader
/// sees the jump in sequence numbers and reports a gap with the exact count, so nothing is lost without a trace.
/// A lossless queue (a subscriber's own direct read) makes its writer wait for room instead.
/// </summary>
internal sealed class SubscriberQueue : ITargetBlock<LogEntry[]>
{
    // Unbounded: the bound is in lines, not items, and the writer enforces it by taking the oldest chunk from the head.
    private readonly Channel<QueuedItem> _channel = Channel.CreateUnbounded<QueuedItem>(new UnboundedChannelOptions
    {
        SingleReader = false,
        SingleWriter = false,
        AllowSynchronousContinuations = false,
    });
    private readonly int _capacity;
    private readonly bool _lossless;
    private readonly TimeProvider _time;
    private readonly Func<Exception?> _terminalFault;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _aborted = new();
    private long _lastEnqueued;
    private long _dropped;
    private int _queued;
    private long _progressTimestamp;
    private TaskCompletionSource? _room;
    private bool _closed;
    private Exception? _fault;

    /// <param name="capacity">Lines held before the oldest chunks are dropped (or, lossless, before the writer waits).</param>
    /// <param name="lastEnqueued">Highest sequence number the subscriber already has (from its replay snapshot); anything at or below it is a duplicate.</param>
    /// <param name="lossless">For a subscriber's own read: the writer waits for room instead of dropping.</param>
    /// <param name="time">Clock for stall detection.</param>
    /// <param name="terminalFault">The stream's fault, read when the stream completes, so queued lines drain before the error.</param>
    public SubscriberQueue(int capacity, long lastEnqueued, bool lossless, TimeProvider time, Func<Exception?> terminalFault)
    {
        _capacity = capacity;
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

    /// <summary>Cancelled when the pipeline closes this subscriber (stalled); a sender waiting on a socket write should stop.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public Exception? Fault => Volatile.Read(ref _fault);

    public Task Completion => _channel.Reader.Completion;

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
        lock (_gate)
        {
            var start = 0;
            while (start < chunk.Length && chunk[start].Sequence <= _lastEnqueued)
                start++;
            if (start == chunk.Length)
                return;
            // A chunk larger than the whole queue keeps only its newest lines.
            if (chunk.Length - start > _capacity)
            {
                Interlocked.Add(ref _dropped, chunk.Length - start - _capacity);
                start = chunk.Length - _capacity;
            }
            _lastEnqueued = chunk[^1].Sequence;
            if (!WriteLocked(new QueuedItem(chunk, start)))
                return;
            // The reader takes from the head under the same lock, so the count is exact here.
            while (_queued > _capacity && _channel.Reader.TryRead(out var oldest))
            {
                Volatile.Write(ref _queued, _queued - oldest.Count);
                Interlocked.Add(ref _dropped, oldest.Count);
            }
        }
    }

    /// <summary>Queues a chunk of a subscriber's own read, waiting while the queue holds its capacity (lossless queues only).</summary>
    public async ValueTask WriteAsync(LogEntry[] chunk, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task room;
            lock (_gate)
            {
                // A queue the pipeline has closed takes nothing more: the writer is not kept waiting for a reader that is gone.
                if (_queued < _capacity || _closed)
                {
                    WriteLocked(new QueuedItem(chunk, 0));
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
            _channel.Writer.TryWrite(new QueuedItem(notice));
    }

    /// <summary>
    /// Takes the next chunk or notice. Under the writer's lock: a writer dropping the oldest chunks must not count
    /// one the reader already has, and a lossless writer must not miss the room this take makes.
    /// </summary>
    public bool TryRead(out QueuedItem item)
    {
        lock (_gate)
        {
            if (!_channel.Reader.TryRead(out item))
                return false;
            NoteProgress();
            if (item.Count > 0)
            {
                Volatile.Write(ref _queued, _queued - item.Count);
                if (_room is not null && _queued < _capacity)
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

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _channel.Reader.WaitToReadAsync(cancellationToken);

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
            _closed = true;
            _channel.Writer.TryComplete();
            _room?.TrySetResult();
            _room = null;
        }
    }

    /// <returns>False when the queue is closed and the item was not queued.</returns>
    private bool WriteLocked(QueuedItem item)
    {
        if (!_channel.Writer.TryWrite(item))
            return false;
        if (_queued == 0)
            NoteProgress();
        Volatile.Write(ref _queued, _queued + item.Count);
        return true;
    }
}

/// <summary>What a subscriber queue holds: the lines of a shared chunk from <see cref="Start"/> on, or a notice.</summary>
internal readonly struct QueuedItem
{
    public QueuedItem(LogEntry[] entries, int start)
    {
        Entries = entries;
        Start = start;
    }

    public QueuedItem(StreamNotice notice) => Notice = notice;

    public LogEntry[]? Entries { get; }

    public int Start { get; }

    public StreamNotice? Notice { get; }

    /// <summary>Lines in this item.</summary>
    public int Count => Entries is null ? 0 : Entries.Length - Start;
}
