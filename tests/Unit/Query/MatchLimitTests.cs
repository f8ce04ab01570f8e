using System.Text.Json;
using LogsMigration.Api.Query;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Wire;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Query;

/// <summary><c>matches</c> spans are bounded per line (<c>Query:MaxMatchesPerLine</c>), and a frame says when they were cut.</summary>
public sealed class MatchLimitTests
{
    private static LineFilter Matching(string pattern, int max) =>
        new(LinePattern.TryCreate(pattern, new QueryOptions(), out _), null, null, null, null, null, max);

    private static LogEntry Entry(string text) =>
        new(PipelineHarness.Key, 1, "00000001", new SourceRecord(new LogTimestamp(1_000_000_000), false, OutputStream.Stdout, text, LogSeverity.Info));

    [Fact]
    public void ManyMatches_FrameCarriesTheFirstMax_AndMatchesTruncated()
    {
        var filter = Matching("a", max: 64);
        var entry = Entry(new string('a', 10_000));
        Assert.True(filter.Accepts(entry.Record, out var matches));
        // One more than the bound is found (and no more), to tell that there were more.
        Assert.Equal(65, matches!.Length);

        var frame = JsonDocument.Parse(QueryFrames.WithMatches(entry, LogFrameFormat.Json, matches, filter.MaxMatches)).RootElement;
        Assert.Equal(64, frame.GetProperty("matches").GetArrayLength());
        Assert.True(frame.GetProperty("matches_truncated").GetBoolean());
    }

    [Fact]
    public void FewMatches_AllOfThem_NoTruncatedField()
    {
        var filter = Matching("a", max: 64);
        var entry = Entry("a b a");
        Assert.True(filter.Accepts(entry.Record, out var matches));
        var frame = JsonDocument.Parse(QueryFrames.WithMatches(entry, LogFrameFormat.Json, matches!, filter.MaxMatches)).RootElement;
        Assert.Equal(2, frame.GetProperty("matches").GetArrayLength());
        Assert.False(frame.TryGetProperty("matches_truncated", out _));
    }
}
