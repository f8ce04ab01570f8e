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
        Assert.Null(filter.SeamMarker());
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

    /// <summary>
    /// More lines within the margin than the identities it keeps (a burst): those it no longer knows by identity are
    /// repeats by their time, never given again. (They were new to it, and a reopened read repeated them.)
    /// </summary>
    [Fact]
    public void Reopen_ABurstLargerThanTheWindow_TheLinesPastItAreStillRepeats()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2), window: 4);
        for (var i = 0; i < 10; i++)
            filter.Observe(Line($"burst {i}", 10 + i * 0.001));
        filter.Reopen();
        Assert.All(Enumerable.Range(0, 10), i => Assert.True(filter.IsRepeat(Line($"burst {i}", 10 + i * 0.001)), $"burst {i}"));
        Assert.False(filter.IsRepeat(Line("next", 10.011)));
        // Judged partly by time, the seam says lines may be missing there, at the newest line seen.
        var marker = Assert.IsType<SourceRecord>(filter.SeamMarker());
        Assert.Equal(Line("", 10 + 9 * 0.001).Timestamp, marker.Timestamp);
        Assert.NotNull(marker.Incomplete);
    }

    [Fact]
    public void Reopen_NothingSeen_ReadsEverything()
    {
        var filter = new ResumeFilter(TimeSpan.FromSeconds(2));
        Assert.Null(filter.Reopen().Since);
        Assert.False(filter.IsRepeat(Line("x", 1)));
    }
}
