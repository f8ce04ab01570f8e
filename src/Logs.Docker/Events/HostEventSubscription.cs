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
    private readonly Channel<HostEvent> _queue;
    private readonly Action<HostEventSubscription> _leave;
    private long _missed;
    private int _disposed;

    internal HostEventSubscription(string hostId, int capacity, Action<HostEventSubscription> leave)
    {
        HostId = hostId;
        _leave = leave;
        _queue = Channel.CreateBounded<HostEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _missed));
    }

    public string HostId { get; }

    /// <summary>The events in the host's order; completes (with the failure) when the upstream ends.</summary>
    public ChannelReader<HostEvent> Events => _queue.Reader;

    /// <summary>Events dropped since the last call because this client fell behind (0 mostly).</summary>
    public long TakeMissed() => Interlocked.Exchange(ref _missed, 0);

    internal void Offer(HostEvent hostEvent) => _queue.Writer.TryWrite(hostEvent);

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
