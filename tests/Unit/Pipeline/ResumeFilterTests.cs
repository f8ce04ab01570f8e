using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>A container's next run: the read reopens before the newest line and drops what it gives again.</summary>
public sealed class ResumeFilterTests
{
    private static SourceRecord Line(string text, double seconds, OutputStream stream = OutputStream.Stdout) =>
        new(new LogTimestamp(1_800_000_000_000_000_000 + (long)(seconds * 1e9)), false, stream, text, LogSeverity.Info);

    [Fact]
    public void Reopen_LineStampedBeforeTheNewestButWrittenAfter_IsReadAgainAndNotARepeat()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2));
        var first = Line("out 1", 10);
        var second = Line("out 2", 20);
        filter.Observe(first);
        filter.Observe(second);

        var start = filter.Reopen();
        // The reopened read must reach back before the newest line, or Docker filters out the late stderr line.
        Assert.True(start.Since!.Value <= Line("", 18.5).Timestamp);
        var lateErr = Line("err late", 19.5, OutputStream.Stderr);
        Assert.True(filter.IsRepeat(second with { }));
        Assert.False(filter.IsRepeat(lateErr));
        Assert.False(filter.IsRepeat(Line("out 3", 21)));
        Assert.True(filter.IsRepeat(Line("older than the margin", 17)));
    }

    [Fact]
    public void Reopen_LinesAtTheLastInstant_SeenOnesAreRepeatsOthersAreNew()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2));
        filter.Observe(Line("x", 10));
        filter.Observe(Line("a", 20));
        filter.Observe(Line("b", 20));
        filter.Reopen();
        Assert.True(filter.IsRepeat(Line("a", 20)));
        Assert.True(filter.IsRepeat(Line("b", 20)));
        Assert.False(filter.IsRepeat(Line("c", 20)));
        // An out-of-order line within the margin that was not seen (another output's copier) is new.
        Assert.False(filter.IsRepeat(Line("late", 19)));
    }

    [Fact]
    public void Observe_OutOfOrderHistory_ReopensBeforeTheNewestTimestamp()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2));
        filter.Observe(Line("newest", 30));
        filter.Observe(Line("older", 10));
        Assert.Equal(Line("", 28).Timestamp, filter.Reopen().Since);
    }

    [Fact]
    public void Reopen_NothingSeen_ReadsEverything()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2));
        Assert.Null(filter.Reopen().Since);
        Assert.False(filter.IsRepeat(Line("x", 1)));
    }
}
