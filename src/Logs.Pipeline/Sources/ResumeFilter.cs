using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Reopens a read where the last one stopped without repeating a line. Docker's <c>since</c> is inclusive,
/// so a reopened read gives again the lines stamped with the newest timestamp seen: skip as many of those as
/// were already seen, and anything older. The newest, not the last: Docker does not return the history of
/// stdout and stderr in time order.
/// </summary>
public sealed class ResumeFilter
{
    private LogTimestamp? _last;
    private int _seenAtLast;
    private int _repeatsToSkip;
    private bool _atSeam;

    /// <summary>Timestamp of the newest line seen, if any.</summary>
    public LogTimestamp? Last => _last;

    /// <summary>Records a line that was passed on.</summary>
    public void Observe(SourceRecord record)
    {
        if (_last == record.Timestamp)
        {
            _seenAtLast++;
        }
        else if (_last is null || record.Timestamp > _last.Value)
        {
            _last = record.Timestamp;
            _seenAtLast = 1;
        }
    }

    /// <summary>Where to reopen: from the last timestamp seen (inclusive), or everything when nothing was seen yet.</summary>
    public SourceStart Reopen(Action? onConnected = null)
    {
        _repeatsToSkip = _seenAtLast;
        _atSeam = true;
        var start = _last is { } since ? SourceStart.LiveFrom(since) : SourceStart.LiveAll();
        return start with { OnConnected = onConnected };
    }

    /// <summary>
    /// True for a line at the start of a reopened read that was already passed on. Only the seam is filtered: after
    /// the first new line everything is new, even a line older than the newest seen (replicas of a service, and
    /// Docker's stdout and stderr, are not in strict time order; filtering them would drop lines silently).
    /// </summary>
    public bool IsRepeat(SourceRecord record)
    {
        if (!_atSeam || _last is not { } last)
            return false;
        if (record.Timestamp < last)
            return true;
        if (record.Timestamp == last && _repeatsToSkip > 0)
        {
            _repeatsToSkip--;
            return true;
        }
        _atSeam = false;
        return false;
    }
}
