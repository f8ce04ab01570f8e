using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Services;

/// <summary>
/// What a service read without <c>follow</c> gave of each task, so that reading again after Docker's read stalled
/// (<see cref="ServiceLogRead"/>) gives each line once. A task's log is not in timestamp order (stdout and stderr are
/// stamped by two copiers), so a task's progress is a <see cref="ResumeFilter"/>: a re-read's line is a repeat when it
/// was given before (by identity: timestamp, output, text) or is older than the margin before the newest given. Memory
/// per task is the identities of the lines within the margin of its newest, at most the filter's window.
/// </summary>
internal sealed class TaskReadProgress(TimeSpan margin)
{
    private readonly Dictionary<string, ResumeFilter> _tasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inThisRead = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _errorsGiven = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _errorsInThisRead = new(StringComparer.Ordinal);
    private bool _rereading;

    /// <summary>A line of a task (its details) and what to do with it in the current read.</summary>
    public enum Verdict
    {
        /// <summary>Not given yet: pass it on.</summary>
        New,

        /// <summary>Given by an earlier read: drop it.</summary>
        Repeat,

        /// <summary>
        /// Not given yet, but the re-read's first line of this task comes after the last one given: the re-read's
        /// window (its <c>tail</c>) moved past it, so lines in between may be missing. Pass it on after a marker.
        /// </summary>
        NewAfterGap,
    }

    /// <summary>The newest timestamp of a line given by any read so far (a marker at the end is stamped with it).</summary>
    public LogTimestamp? NewestGiven { get; private set; }

    /// <summary>
    /// A new read begins: each task's lines the earlier reads gave are repeats. Returns a marker for each task whose
    /// given lines near its newest were more than its filter knows by identity (<see cref="ResumeFilter.SeamMarker"/>).
    /// </summary>
    public List<SourceRecord> BeginReread()
    {
        _rereading = true;
        _inThisRead.Clear();
        _errorsInThisRead.Clear();
        var markers = new List<SourceRecord>();
        foreach (var filter in _tasks.Values)
        {
            filter.Reopen();
            if (filter.SeamMarker() is { } marker)
                markers.Add(marker);
        }
        return markers;
    }

    /// <summary>Judges the next line of <paramref name="task"/> in this read, and records it as given unless it is a repeat.</summary>
    public Verdict Offer(string task, SourceRecord line)
    {
        var firstInThisRead = _inThisRead.Add(task);
        var verdict = Verdict.New;
        if (!_tasks.TryGetValue(task, out var filter))
            _tasks[task] = filter = new ResumeFilter(margin, olderThanFirstIsRepeat: false);
        else if (_rereading)
        {
            if (filter.IsRepeat(line))
                return Verdict.Repeat;
            // The re-read's window is a stretch of the task's log that ends at its end: a first line of this task that
            // is not one given means the window no longer reaches what was given (whatever its time: stdout and
            // stderr are stamped apart). At worst a marker where the window starts just after the last line given.
            if (firstInThisRead && filter.Last is not null)
                verdict = Verdict.NewAfterGap;
        }
        filter.Observe(line);
        if (NewestGiven is not { } newest || line.Timestamp > newest)
            NewestGiven = line.Timestamp;
        return verdict;
    }

    /// <summary>
    /// After a re-read that ended: the tasks that gave lines before but none in it (removed since, or no longer in its
    /// window), with the last line each gave. Lines of theirs after it may be missing.
    /// </summary>
    public IEnumerable<(string Task, LogTimestamp LastGiven)> Unreached() =>
        from task in _tasks
        where !_inThisRead.Contains(task.Key) && task.Value.Last is not null
        select (task.Key, task.Value.Last!.Value);

    /// <summary>
    /// True for a daemon error to pass on: one this read gives more often than any earlier read gave it (a re-read
    /// repeats the errors of the part it reads again).
    /// </summary>
    public bool IsNewError(string text)
    {
        var count = _errorsInThisRead[text] = _errorsInThisRead.GetValueOrDefault(text) + 1;
        if (count <= _errorsGiven.GetValueOrDefault(text))
            return false;
        _errorsGiven[text] = count;
        return true;
    }
}
