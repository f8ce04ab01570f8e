using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that notes every timer it makes. Advancing the clock fires only the timers that
/// exist: a test that moves time past a wait (a retry's backoff, say) first waits until that wait's timer is there,
/// or the move is lost on code that had not started waiting yet.
/// </summary>
public sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _dueTimes = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _dueTimes.Enqueue(dueTime);
        return timer;
    }

    /// <summary>How many timers were made with this due time (Task.Delay(d, time) makes one of d).</summary>
    public int TimersCreated(TimeSpan dueTime) => _dueTimes.Count(d => d == dueTime);
}
