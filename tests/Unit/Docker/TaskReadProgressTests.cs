using LogsMigration.Docker.Services;
using LogsMigration.Pipeline.Model;
using static LogsMigration.Docker.Services.TaskReadProgress.Verdict;

namespace LogsMigration.Tests.Unit.Docker;

/// <summary>
/// A service read without follow read again after Docker stalled it (<see cref="TaskReadProgress"/>): each task's lines
/// already given are dropped, the rest passed on once, a re-read whose tail moved past a task's last given line says
/// so, and so does one that no longer holds a task at all. The stall itself is Docker's and is shown against a real
/// engine (ServiceReadStallTests).
/// </summary>
public sealed class TaskReadProgressTests
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    private static LogTimestamp At(long seconds, long millis = 0) => new(1_000_000_000L * seconds + 1_000_000L * millis);

    private static SourceRecord Line(long seconds, string text, OutputStream stream = OutputStream.Stdout, long millis = 0) =>
        new(At(seconds, millis), false, stream, text, LogSeverity.Info);

    private static TaskReadProgress.Verdict[] Offer(TaskReadProgress progress, string task, params SourceRecord[] lines) =>
        [.. lines.Select(l => progress.Offer(task, l))];

    [Fact]
    public void AReread_SkipsEachTasksGivenLines_AndPassesTheRestOnce()
    {
        var progress = new TaskReadProgress(Margin);
        // First read: task a gave 1..3, task b gave 1 before the stall; task c gave nothing.
        Assert.Equal([New, New, New], Offer(progress, "a", Line(1, "a1"), Line(2, "a2"), Line(3, "a3")));
        Assert.Equal([New], Offer(progress, "b", Line(1, "b1")));
        progress.BeginReread();
        // The re-read interleaves the tasks differently; per task the order is the log's.
        Assert.Equal([Repeat], Offer(progress, "b", Line(1, "b1")));
        Assert.Equal([Repeat], Offer(progress, "a", Line(1, "a1")));
        Assert.Equal([New], Offer(progress, "c", Line(1, "c1")));
        Assert.Equal([Repeat], Offer(progress, "a", Line(2, "a2")));
        Assert.Equal([New], Offer(progress, "b", Line(2, "b2")));
        Assert.Equal([Repeat, New], Offer(progress, "a", Line(3, "a3"), Line(4, "a4")));
        Assert.Equal([New], Offer(progress, "b", Line(3, "b3")));
        Assert.Empty(progress.Unreached());
    }

    [Fact]
    public void LinesAtTheSameTime_AreToldApartByTheirText()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "x"), Line(5, "y"), Line(5, "z"));
        progress.BeginReread();
        Assert.Equal([Repeat, Repeat, Repeat, New], Offer(progress, "a", Line(1, "x"), Line(5, "y"), Line(5, "z"), Line(5, "w")));
    }

    /// <summary>
    /// stdout and stderr are stamped by two copiers, so a task's log is not in timestamp order: a stderr line stamped a
    /// little before the last stdout line given may come after it in the log. The re-read gives it once, and does not
    /// take the lines between for repeats or for a gap.
    /// </summary>
    [Fact]
    public void ATasksLinesOutOfTimestampOrder_EachGivenOnce()
    {
        var progress = new TaskReadProgress(Margin);
        // Given before the stall: out 1.000, err 0.900 (written after it), out 1.100.
        Assert.Equal([New, New, New], Offer(progress, "a",
            Line(1, "out one"), Line(0, "err one", OutputStream.Stderr, millis: 900), Line(1, "out two", millis: 100)));
        progress.BeginReread();
        Assert.Equal([Repeat, Repeat, Repeat, New, New], Offer(progress, "a",
            Line(1, "out one"), Line(0, "err one", OutputStream.Stderr, millis: 900), Line(1, "out two", millis: 100),
            // Not given yet: a stderr line stamped before the newest given, then a later stdout one.
            Line(1, "err two", OutputStream.Stderr, millis: 50), Line(1, "out three", millis: 200)));
    }

    [Fact]
    public void SecondStall_SkipsWhatBothReadsGave()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "1"));
        progress.BeginReread();
        Assert.Equal([Repeat, New], Offer(progress, "a", Line(1, "1"), Line(2, "2")));
        progress.BeginReread();
        Assert.Equal([Repeat, Repeat, New], Offer(progress, "a", Line(1, "1"), Line(2, "2"), Line(3, "3")));
    }

    [Fact]
    public void ARereadWhoseTailMovedPastTheLastGivenLine_IsAGap()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "1"), Line(2, "2"));
        progress.BeginReread();
        // The task wrote more since: the re-read's tail starts at 4, so line 3 is not in it.
        Assert.Equal([NewAfterGap, New], Offer(progress, "a", Line(4, "4"), Line(5, "5")));
    }

    /// <summary>
    /// The re-read's window moved past the stall point, and its first line of the task is a stderr line stamped a
    /// little before the newest given (the two copiers): still a gap, as the window no longer holds what was given.
    /// </summary>
    [Fact]
    public void ARereadWhoseTailMovedPast_StartingWithALineStampedBeforeTheNewestGiven_IsAGap()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "1"), Line(2, "2"));
        progress.BeginReread();
        Assert.Equal([NewAfterGap, New], Offer(progress, "a", Line(1, "late err", OutputStream.Stderr, millis: 900), Line(4, "4")));
    }

    /// <summary>
    /// The first read gave a task's first line and stalled; the next line in its log is a stderr line stamped before
    /// it. The re-read gives it: a line older than the first one given is not outside the window on a re-read.
    /// </summary>
    [Fact]
    public void ALineStampedBeforeTheFirstGiven_NotGivenYet_IsNew()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "out"));
        progress.BeginReread();
        Assert.Equal([Repeat, New], Offer(progress, "a", Line(1, "out"), Line(0, "err", OutputStream.Stderr, millis: 900)));
    }

    [Fact]
    public void ARereadWhoseTailStartsAfterTheFirstGivenLine_IsNoGap()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "1"), Line(2, "2"), Line(3, "3"));
        progress.BeginReread();
        // The tail moved by one line: 1 is out of it, 2 and 3 are repeats, 4 is new, nothing was skipped.
        Assert.Equal([Repeat, Repeat, New], Offer(progress, "a", Line(2, "2"), Line(3, "3"), Line(4, "4")));
    }

    [Fact]
    public void ARereadWithoutATaskThatGaveLines_NamesItAsUnreached()
    {
        var progress = new TaskReadProgress(Margin);
        Offer(progress, "a", Line(1, "a1"), Line(2, "a2"));
        Offer(progress, "b", Line(1, "b1"));
        progress.BeginReread();
        // Task a was removed between the reads: the re-read holds only b.
        Offer(progress, "b", Line(1, "b1"), Line(2, "b2"));
        var unreached = Assert.Single(progress.Unreached());
        Assert.Equal("a", unreached.Task);
        Assert.Equal(At(2), unreached.LastGiven);
    }

    [Fact]
    public void ADaemonErrorIsPassedOnAsOftenAsOneReadGivesIt()
    {
        var progress = new TaskReadProgress(Margin);
        Assert.True(progress.IsNewError("incomplete log stream"));
        Assert.True(progress.IsNewError("incomplete log stream"));
        progress.BeginReread();
        // The re-read gives the same two errors again (repeats), then a third one (new), and another text.
        Assert.False(progress.IsNewError("incomplete log stream"));
        Assert.False(progress.IsNewError("incomplete log stream"));
        Assert.True(progress.IsNewError("incomplete log stream"));
        Assert.True(progress.IsNewError("another"));
    }

    [Fact]
    public void TheNewestLineGiven_IsKeptAcrossReads()
    {
        var progress = new TaskReadProgress(Margin);
        Assert.Null(progress.NewestGiven);
        Offer(progress, "a", Line(3, "3"));
        Offer(progress, "b", Line(2, "2"));
        progress.BeginReread();
        Offer(progress, "b", Line(2, "2"));
        Assert.Equal(At(3), progress.NewestGiven);
    }
}
