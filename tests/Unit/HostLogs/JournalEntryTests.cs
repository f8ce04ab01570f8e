using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.HostLogs;

/// <summary>journalctl's JSON lines that are not an entry, or too long to read: a marker in their place, never silence.</summary>
public sealed class JournalEntryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"MESSAGE\":\"no time\"}")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"__REALTIME_TIMESTAMP\":\"12x\",\"MESSAGE\":\"bad time\"}")]
    public void Parse_ALineThatIsNotAnEntry_IsNull(string line) => Assert.Null(JournalEntry.Parse(line, logfmt: false));

    [Fact]
    public void Unreadable_IsAMarkerAtTheEntryBefore_WithTheLinesStart()
    {
        var after = new LogTimestamp(1_764_633_600_000_000_000);
        var marker = JournalEntry.Unreadable("garbage " + new string('g', 500), after, new FakeTimeProvider(Now));

        Assert.NotNull(marker.Incomplete);
        Assert.Equal(after, marker.Timestamp);
        Assert.Contains("could not be read as an entry", marker.Text, StringComparison.Ordinal);
        Assert.Contains("garbage ggg", marker.Text, StringComparison.Ordinal);
        Assert.True(marker.Text.Length < 400);
    }

    [Fact]
    public void Unreadable_BeforeAnyEntry_IsAtTheClock()
    {
        var marker = JournalEntry.Unreadable("garbage", null, new FakeTimeProvider(Now));

        Assert.Equal(LogTimestamp.FromDateTimeOffset(Now), marker.Timestamp);
    }

    [Fact]
    public void Oversized_IsAMarkerAtTheEntrysOwnTime_WhenTheStartSaysIt()
    {
        var marker = JournalEntry.Oversized("{\"__CURSOR\":\"s=1;i=2\",\"__REALTIME_TIMESTAMP\":\"1764633600123456\",\"MESSAGE\":\"xxxx", 71_680, null, new FakeTimeProvider(Now));

        Assert.NotNull(marker.Incomplete);
        Assert.Equal(1_764_633_600_123_456_000, marker.Timestamp.UnixNanoseconds);
        Assert.Contains("longer than 71680 bytes", marker.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_WithoutATimeInItsStart_IsAtTheEntryBefore_ElseTheClock()
    {
        // journalctl writes the fields in no fixed order: the time may come after the long message.
        var after = new LogTimestamp(1_764_633_600_000_000_000);

        Assert.Equal(after, JournalEntry.Oversized("{\"MESSAGE\":\"xxxx", 71_680, after, new FakeTimeProvider(Now)).Timestamp);
        Assert.Equal(LogTimestamp.FromDateTimeOffset(Now), JournalEntry.Oversized("{\"MESSAGE\":\"xxxx", 71_680, null, new FakeTimeProvider(Now)).Timestamp);
    }

    [Fact]
    public void Parse_AMessageLongerThanTheLimit_IsCutWithTheMark()
    {
        var record = JournalEntry.Parse("{\"__REALTIME_TIMESTAMP\":\"1764633600000000\",\"MESSAGE\":\"" + new string('y', 2000) + "\",\"PRIORITY\":\"6\"}", logfmt: false, 1024)!;

        Assert.Equal(new string('y', 1024) + JournalEntry.CutMark(1024), record.Text);
        Assert.Equal("true", record.Metadata![JournalEntry.TruncatedKey]);
    }
}
