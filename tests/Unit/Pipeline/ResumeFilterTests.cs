using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class ResumeFilterTests
{
    private static SourceRecord At(long nanos, string text = "x") => new(new LogTimestamp(nanos), false, OutputStream.Stdout, text, LogSeverity.Info);

    [Fact]
    public void Reopen_SkipsLinesAlreadySeenAtTheLastInstantAndOlder_ThenPassesEverything()
    {
        var filter = new ResumeFilter();
        filter.Observe(At(10));
        filter.Observe(At(20, "a"));
        filter.Observe(At(20, "b"));
        var start = filter.Reopen();
        Assert.Equal(new LogTimestamp(20), start.Since);

        Assert.True(filter.IsRepeat(At(20, "a")));
        Assert.True(filter.IsRepeat(At(20, "b")));
        Assert.False(filter.IsRepeat(At(20, "c")));
        // Past the seam, an out-of-order older line (another replica, stderr) is new, not a repeat.
        Assert.False(filter.IsRepeat(At(15)));
    }

    [Fact]
    public void Observe_OutOfOrderHistory_ResumesFromTheNewestTimestamp()
    {
        var filter = new ResumeFilter();
        filter.Observe(At(30));
        filter.Observe(At(10));
        Assert.Equal(new LogTimestamp(30), filter.Reopen().Since);
    }

    [Fact]
    public void Reopen_NothingSeen_ReadsEverything()
    {
        var filter = new ResumeFilter();
        var start = filter.Reopen();
        Assert.Null(start.Since);
        Assert.Null(start.Tail);
        Assert.True(start.Follow);
        Assert.False(filter.IsRepeat(At(1)));
    }
}
