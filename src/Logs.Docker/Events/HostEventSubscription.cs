using System.Threading.Channels;

namespace LogsMigration.Docker.Events;

/// <summary>
/// One client of a host's events: a bounded queue of its own that drops the oldest events when the client falls
/// behind, counting them, so the client is told how many it missed instead of losing them silently or slowing the
/// others. The queue completes with the upstream's <see cref="Pipeline.Sources.LogSourceException"/> when it fails.
/// Dispose to leave.
/// </summary>
public sealed class HostEventSubscription : IAsyncDisposable
{
    private readonly Channel<HostFeedItem> _queue;
    private readonly Action<HostEventSubscription> _leave;
    private long _missed;
    private int _disposed;

    internal HostEventSubscription(string hostId, int capacity, DateTimeOffset since, Action<HostEventSubscription> leave)
    {
        HostId = hostId;
        Since = since;
        _leave = leave;
        _queue = Channel.CreateBounded<HostFeedItem>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _missed));
    }

    public string HostId { get; }

    /// <summary>
    /// The newest event time the host's feed knew when this client joined (or the time its stream was asked from):
    /// every event after it comes to this client, or a gap notice says some may be missing.
    /// </summary>
    public DateTimeOffset Since { get; }

    /// <summary>The events and the feed's notices in the host's order; completes (with the failure) when the upstream ends.</summary>
    public ChannelReader<HostFeedItem> Events => _queue.Reader;

    /// <summary>Events dropped since the last call because this client fell behind (0 mostly).</summary>
    public long TakeMissed() => Interlocked.Exchange(ref _missed, 0);

    internal void Offer(HostFeedItem item) => _queue.Writer.TryWrite(item);

    internal void End(Exception? failure) => _queue.Writer.TryComplete(failure);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _queue.Writer.TryComplete();
            _leave(this);
        }
        return ValueTask.CompletedTask;
    }
}
