using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Puts the lines of several replicas back in timestamp order. The daemon forwards each task's lines as they come,
/// so a line can reach us after a later line of another replica. Each line is held for the merge window (counted
/// from when it arrived, so the daemon's clock does not matter) and released smallest timestamp first. A line older
/// than one already released cannot be put back in order: it goes out at once rather than being dropped.
/// </summary>
/// <param name="maxHeld">Lines held at most (<see cref="DockerOptions.ServiceMergeMaxHeldLines"/>); beyond it the oldest is released early, so a flood cannot grow memory without bound.</param>
internal sealed class ServiceLineMerger(TimeSpan window, TimeProvider time, int maxHeld)
{

    private readonly PriorityQueue<HeldRecord, (long Timestamp, long Order)> _held = new();
    private readonly Queue<SourceRecord> _ready = new();
    private LogTimestamp? _lastReleased;
    private long _order;

    public bool HasHeld => _held.Count > 0;

    public void Add(SourceRecord record)
    {
        if (window <= TimeSpan.Zero || _lastReleased is { } last && record.Timestamp < last)
        {
            _ready.Enqueue(record);
            return;
        }
        _held.Enqueue(new HeldRecord(record, time.GetTimestamp()), (record.Timestamp.UnixNanoseconds, _order++));
        if (_held.Count > maxHeld)
            _ready.Enqueue(ReleaseFirst());
    }

    /// <summary>How long until the first held line is due; null when nothing is held.</summary>
    public TimeSpan? UntilNextRelease()
    {
        if (!_held.TryPeek(out var first, out _))
            return null;
        var remaining = window - time.GetElapsedTime(first.ArrivedAt);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    /// <summary>The next line that may go out now.</summary>
    public bool TryTake(out SourceRecord record)
    {
        if (_ready.TryDequeue(out record!))
            return true;
        if (_held.TryPeek(out var first, out _) && time.GetElapsedTime(first.ArrivedAt) >= window)
        {
            record = ReleaseFirst();
            return true;
        }
        return false;
    }

    /// <summary>The end of the read: everything, in order.</summary>
    public bool TryDrain(out SourceRecord record)
    {
        if (_ready.TryDequeue(out record!))
            return true;
        if (_held.Count > 0)
        {
            record = ReleaseFirst();
            return true;
        }
        return false;
    }

    private SourceRecord ReleaseFirst()
    {
        var record = _held.Dequeue().Record;
        if (_lastReleased is null || record.Timestamp > _lastReleased.Value)
            _lastReleased = record.Timestamp;
        return record;
    }

    private readonly record struct HeldRecord(SourceRecord Record, long ArrivedAt);
}
