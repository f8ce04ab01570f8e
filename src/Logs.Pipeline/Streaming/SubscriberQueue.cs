using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// One subscriber's bounded queue, linked to its stream's BroadcastBlock. It always accepts what it is offered:
/// a BroadcastBlock silently skips a target that declines or postpones (dotnet/runtime#1177), so the bound is
/// enforced here instead, by dropping the OLDEST queued entry. The reader sees the jump in sequence numbers and
/// reports a gap with the exact count, so nothing is lost without a trace.
/// </summary>
internal sealed class SubscriberQueue : ITargetBlock<LogEntry>
{
    private readonly Channel<StreamItem> _channel;
    private readonly TimeProvider _time;
    private readonly Func<Exception?> _terminalFault;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _aborted = new();
    private long _lastEnqueued;
    private long _dropped;
    private long _progressTimestamp;
    private Exception? _fault;

    /// <param name="capacity">Entries held before the oldest is dropped.</param>
    /// <param name="lastEnqueued">Highest sequence number the subscriber already has (from its replay snapshot); anything at or below it is a duplicate.</param>
    /// <param name="lossless">For a one-off history read: the writer waits for room instead of dropping.</param>
    /// <param name="time">Clock for stall detection.</param>
    /// <param name="terminalFault">The stream's fault, read when the stream completes, so queued lines drain before the error.</param>
    public SubscriberQueue(int capacity, long lastEnqueued, bool lossless, TimeProvider time, Func<Exception?> terminalFault)
    {
        _lastEnqueued = lastEnqueued;
        _time = time;
        _terminalFault = terminalFault;
        _progressTimestamp = time.GetTimestamp();
        var options = new BoundedChannelOptions(capacity)
        {
            FullMode = lossless ? BoundedChannelFullMode.Wait : BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        };
        _channel = Channel.CreateBounded<StreamItem>(options, _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Entries dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Count => _channel.Reader.Count;

    /// <summary>Cancelled when the pipeline closes this subscriber (stalled); a sender waiting on a socket write should stop.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public Exception? Fault => Volatile.Read(ref _fault);

    public Task Completion => _channel.Reader.Completion;

    public DataflowMessageStatus OfferMessage(DataflowMessageHeader messageHeader, LogEntry messageValue, ISourceBlock<LogEntry>? source, bool consumeToAccept)
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

    /// <summary>Queues a live entry unless it is a duplicate (a BroadcastBlock re-offers its current message at link time).</summary>
    public void Enqueue(LogEntry entry)
    {
        lock (_gate)
        {
            if (entry.Sequence <= _lastEnqueued)
                return;
            _lastEnqueued = entry.Sequence;
            if (_channel.Reader.Count == 0)
                Volatile.Write(ref _progressTimestamp, _time.GetTimestamp());
            _channel.Writer.TryWrite(entry);
        }
    }

    /// <summary>Queues an entry of a direct read if there is room (the queue was made lossless).</summary>
    public bool TryWrite(LogEntry entry) => _channel.Writer.TryWrite(entry);

    /// <summary>Queues an entry of a direct read, waiting for room (the queue was made lossless).</summary>
    public ValueTask WriteAsync(LogEntry entry, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(entry, cancellationToken);

    public void Notify(StreamNotice notice) => _channel.Writer.TryWrite(notice);

    public bool TryRead(out StreamItem item)
    {
        if (!_channel.Reader.TryRead(out item!))
            return false;
        Volatile.Write(ref _progressTimestamp, _time.GetTimestamp());
        return true;
    }

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>True when lines are waiting and none was taken for <paramref name="timeout"/>.</summary>
    public bool IsStalled(TimeSpan timeout) =>
        _channel.Reader.Count > 0 && _time.GetElapsedTime(Volatile.Read(ref _progressTimestamp)) >= timeout;

    public void Complete()
    {
        var fault = _terminalFault();
        if (fault is not null)
            Interlocked.CompareExchange(ref _fault, fault, null);
        _channel.Writer.TryComplete();
    }

    void IDataflowBlock.Fault(Exception exception)
    {
        Interlocked.CompareExchange(ref _fault, exception, null);
        _channel.Writer.TryComplete();
    }

    /// <summary>Closes the subscriber from the pipeline's side: no more entries, a fault for the reader, and the sender's token cancelled.</summary>
    public void Abort(Exception reason)
    {
        Interlocked.CompareExchange(ref _fault, reason, null);
        _channel.Writer.TryComplete();
        _aborted.Cancel();
    }
}
