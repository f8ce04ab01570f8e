using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Reopens a read where the last one stopped (a container's next run) without repeating or losing a line. The read
/// reopens a margin before the newest line seen, because stdout and stderr are stamped by two copiers: a line stamped a
/// little earlier than the newest may reach the log after it, and reopening at the newest would have Docker filter it
/// out. What the reopened read gives again is recognised by identity (timestamp, output, text) among the lines seen.
/// </summary>
public sealed class ResumeFilter(TimeSpan margin, int window = 65_536)
{
    private readonly long _marginNanos = margin.Ticks * 100;
    private readonly ulong[] _recent = new ulong[Math.Max(1, window)];
    private readonly HashSet<ulong> _seen = [];
    private int _next;
    private int _count;
    private LogTimestamp? _last;
    private long _first = long.MaxValue;
    private long _seamEnd = long.MinValue;

    /// <summary>Timestamp of the newest line seen, if any.</summary>
    public LogTimestamp? Last => _last;

    /// <summary>Records a line that was passed on.</summary>
    public void Observe(SourceRecord record)
    {
        var line = LineIdentity.Of(record);
        if (_count == _recent.Length)
            _seen.Remove(_recent[_next]);
        else
            _count++;
        _recent[_next] = line;
        _seen.Add(line);
        _next = (_next + 1) % _recent.Length;
        if (_last is null || record.Timestamp > _last.Value)
            _last = record.Timestamp;
        _first = Math.Min(_first, record.Timestamp.UnixNanoseconds);
    }

    /// <summary>Where to reopen: the margin before the newest line seen, or everything when nothing was seen yet.</summary>
    public SourceStart Reopen(Action? onConnected = null)
    {
        if (_last is not { } last)
            return SourceStart.LiveAll() with { OnConnected = onConnected };
        _seamEnd = last.UnixNanoseconds + _marginNanos;
        return SourceStart.LiveFrom(new LogTimestamp(Math.Max(0, last.UnixNanoseconds - _marginNanos))) with { OnConnected = onConnected };
    }

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
        return ts < last.UnixNanoseconds - _marginNanos || ts < _first || _seen.Contains(LineIdentity.Of(record));
    }
}
