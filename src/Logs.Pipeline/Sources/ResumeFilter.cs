using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Reopens a read where the last one stopped (a container's next run) without repeating or losing a line. The read
/// reopens a margin before the newest line seen, because stdout and stderr are stamped by two copiers: a line stamped a
/// little earlier than the newest may reach the log after it, and reopening at the newest would have Docker filter it
/// out. What the reopened read gives again is recognised by identity (timestamp, output, text) among the lines seen.
/// Only the identities of lines within the margin of the newest are kept (an older line is a repeat by its time alone),
/// at most <paramref name="window"/>, in memory that grows with them: a stack holds one filter per replica. Past the
/// window (a burst of more lines within the margin), the lines it no longer knows by identity are repeats by their time:
/// none is given twice, but a line stamped among them and not seen (the other output's copier) would be taken for one,
/// so such a seam has a marker (<see cref="SeamMarker"/>) saying lines may be missing there.
/// </summary>
/// <param name="olderThanFirstIsRepeat">
/// A line older than the first one seen is a repeat (true: a reopened read that reaches back before where the client's
/// read began gives lines it did not ask for). False for a re-read of the same window, where such a line can be one
/// not given yet, written after the first one but stamped before it.
/// </param>
public sealed class ResumeFilter(TimeSpan margin, int window = 65_536, bool olderThanFirstIsRepeat = true)
{
    private readonly long _marginNanos = margin.Ticks * 100;
    private readonly int _window = Math.Max(1, window);
    private readonly Queue<(long Nanos, ulong Line)> _recent = new();
    private readonly HashSet<ulong> _seen = [];
    private LogTimestamp? _last;
    private long _first = long.MaxValue;
    private long _seamEnd = long.MinValue;
    private long _evictedUpTo = long.MinValue;
    private bool _seamJudgedByTime;

    /// <summary>Timestamp of the newest line seen, if any.</summary>
    public LogTimestamp? Last => _last;

    /// <summary>Records a line that was passed on.</summary>
    public void Observe(SourceRecord record)
    {
        var line = LineIdentity.Of(record);
        if (_seen.Add(line))
            _recent.Enqueue((record.Timestamp.UnixNanoseconds, line));
        if (_last is null || record.Timestamp > _last.Value)
            _last = record.Timestamp;
        _first = Math.Min(_first, record.Timestamp.UnixNanoseconds);
        // Older than the margin before the newest, a line is a repeat by its time (IsRepeat): its identity is not needed.
        var needed = _last.Value.UnixNanoseconds - _marginNanos;
        while (_recent.Count > _window || (_recent.TryPeek(out var oldest) && oldest.Nanos < needed))
        {
            var evicted = _recent.Dequeue();
            _seen.Remove(evicted.Line);
            // Let go while still within the margin: from now on a repeat by its time.
            if (evicted.Nanos >= needed && evicted.Nanos > _evictedUpTo)
                _evictedUpTo = evicted.Nanos;
        }
    }

    /// <summary>Where to reopen: the margin before the newest line seen, or everything when nothing was seen yet.</summary>
    public SourceStart Reopen(Action? onConnected = null)
    {
        if (_last is not { } last)
            return SourceStart.LiveAll() with { OnConnected = onConnected };
        _seamEnd = last.UnixNanoseconds + _marginNanos;
        _seamJudgedByTime = _evictedUpTo >= last.UnixNanoseconds - _marginNanos;
        return SourceStart.LiveFrom(new LogTimestamp(Math.Max(0, last.UnixNanoseconds - _marginNanos))) with { OnConnected = onConnected };
    }

    /// <summary>
    /// After <see cref="Reopen"/>: a marker when more lines came within the margin before the newest than the filter
    /// knows by identity, so a line written after the last read but stamped among them may be taken for a repeat; null
    /// otherwise. Stamped at the newest line seen, so it stands at the seam.
    /// </summary>
    public SourceRecord? SeamMarker() =>
        _seamJudgedByTime && _last is { } last
            ? SourceRecord.IncompleteMarker(last,
                $"More than {_window} lines came within {margin.TotalSeconds:0.###} s before the read was reopened; a line written after them but stamped among them may be missing here.")
            : null;

    /// <summary>
    /// True for a line of a reopened read that was already passed on: one seen before (by identity), or one older than
    /// the margin before the newest seen. Past the margin after the newest seen, nothing is a repeat any more.
    /// </summary>
    public bool IsRepeat(SourceRecord record)
    {
        if (_last is not { } last || record.Timestamp.UnixNanoseconds > _seamEnd)
            return false;
        // Older than the margin, or than the first line of this read (the client did not ask for those): not new.
        var ts = record.Timestamp.UnixNanoseconds;
        return ts < last.UnixNanoseconds - _marginNanos || (olderThanFirstIsRepeat && ts < _first) || ts <= _evictedUpTo
               || _seen.Contains(LineIdentity.Of(record));
    }
}
