using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.HostLogs;

public sealed class SyslogLineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 22, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Parse_HighPrecisionLine_TimeHostIdentifierPidAndLevel()
    {
        _time.SetLocalTimeZone(TimeZoneInfo.Utc);
        var parsed = new SyslogLine(_time).Parse("2026-12-01T21:59:58.123456+00:00 box sshd[812]: WARNING Connection closed", offset: null);

        Assert.Equal("2026-12-01T21:59:58.123456000Z", parsed.Timestamp!.Value.ToRfc3339());
        Assert.Equal("WARNING Connection closed", parsed.Text);
        Assert.Equal("box", parsed.Metadata![SyslogLine.HostnameKey]);
        Assert.Equal("sshd", parsed.Metadata[SyslogLine.IdentifierKey]);
        Assert.Equal("812", parsed.Metadata[SyslogLine.PidKey]);
        Assert.Equal(LogSeverity.Warning, parsed.Level);
    }

    [Fact]
    public void Parse_TraditionalLine_LocalTimeOfThisYear()
    {
        _time.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours(2), "plus2", "plus2"));
        var parsed = new SyslogLine(_time).Parse("Dec  1 23:30:05 box CRON[99]: (root) CMD (run)", offset: null);

        Assert.Equal("2026-12-01T21:30:05.000000000Z", parsed.Timestamp!.Value.ToRfc3339());
        Assert.Equal("CRON", parsed.Metadata![SyslogLine.IdentifierKey]);
        Assert.Equal("(root) CMD (run)", parsed.Text);
    }

    [Fact]
    public void Parse_TraditionalDecemberLineReadInJanuary_IsLastYear()
    {
        var january = new FakeTimeProvider(new DateTimeOffset(2027, 1, 2, 0, 0, 0, TimeSpan.Zero));
        january.SetLocalTimeZone(TimeZoneInfo.Utc);

        var parsed = new SyslogLine(january).Parse("Dec 31 23:59:59 box kernel: bye", offset: null);

        Assert.Equal(2026, parsed.Timestamp!.Value.ToDateTimeOffset().Year);
    }

    [Fact]
    public void Parse_EqualLinesInOneSecond_OffsetsKeepThemApartWithinTheSecond()
    {
        _time.SetLocalTimeZone(TimeZoneInfo.Utc);
        var format = new SyslogLine(_time);
        const string line = "Dec  1 21:00:00 box app: same";

        var first = format.Parse(line, offset: 0).Timestamp!.Value;
        var second = format.Parse(line, offset: line.Length + 1).Timestamp!.Value;

        Assert.NotEqual(first, second);
        Assert.True(first < second);
        Assert.Equal("2026-12-01T21:00:00", second.ToRfc3339()[..19]);
        Assert.Equal(second, format.Parse(line, offset: line.Length + 1).Timestamp!.Value);
    }

    [Fact]
    public void Parse_NotASyslogLine_HasNoTimestamp()
    {
        var parsed = new SyslogLine(_time).Parse("    continuation of the previous message", offset: 10);

        Assert.Null(parsed.Timestamp);
        Assert.Equal("    continuation of the previous message", parsed.Text);
    }
}
