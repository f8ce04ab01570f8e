using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that notes every timer it makes, and which are still alive. Advancing the clock
/// fires only the timers that exist: a test that moves time past a wait (a retry's backoff, say) first waits until that
/// wait's timer is there, or the move is lost on code that had not started waiting yet.
/// </summary>
public sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentQueue<RecordedTimer> _timers = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new RecordedTimer(base.CreateTimer(callback, state, dueTime, period), dueTime);
        _timers.Enqueue(timer);
        return timer;
    }

    /// <summary>How many timers were made with this due time (Task.Delay(d, time) makes one of d).</summary>
    public int TimersCreated(TimeSpan dueTime) => _timers.Count(t => t.DueTime == dueTime);

    /// <summary>How many of the timers made with this due time are not disposed yet (a cancelled Task.Delay disposes its own).</summary>
    public int TimersAlive(TimeSpan dueTime) => _timers.Count(t => t.DueTime == dueTime && !t.Disposed);

    private sealed class RecordedTimer(ITimer inner, TimeSpan dueTime) : ITimer
    {
        private int _disposed;

        public TimeSpan DueTime => dueTime;

        public bool Disposed => Volatile.Read(ref _disposed) == 1;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            Volatile.Write(ref _disposed, 1);
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Volatile.Write(ref _disposed, 1);
            return inner.DisposeAsync();
        }
    }
}
