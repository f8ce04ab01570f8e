using System.Collections.Concurrent;
using LogsMigration.Docker.Events;

namespace LogsMigration.Tests.Unit.Fakes;

/// <summary>A host events upstream the test drives: counts its opens, emits events, fails on demand.</summary>
public sealed class FakeHostEventSource : IHostEventSource
{
    private readonly ConcurrentQueue<Watch> _watches = new();
    private int _opens;
    private int _active;

    public int Opens => Volatile.Read(ref _opens);

    /// <summary>Upstreams open now (started and not yet ended).</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>The newest upstream; its events go to the hub.</summary>
    public Watch Current => _watches.Last();

    public async Task WatchAsync(string hostId, DateTimeOffset since, Action<HostEvent> onEvent, CancellationToken cancellationToken)
    {
        var watch = new Watch(onEvent);
        _watches.Enqueue(watch);
        Interlocked.Increment(ref _opens);
        Interlocked.Increment(ref _active);
        try
        {
            await watch.Failure.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    public sealed class Watch(Action<HostEvent> onEvent)
    {
        internal TaskCompletionSource Failure { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Emit(HostEvent hostEvent) => onEvent(hostEvent);

        public void Fail(Exception ex) => Failure.TrySetException(ex);
    }
}
