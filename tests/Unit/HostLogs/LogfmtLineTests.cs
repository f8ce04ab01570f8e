using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Tests.Unit.HostLogs;

public sealed class LogfmtLineTests
{
    [Fact]
    public void Parse_DockerdLine_OwnTimeLevelAndMessageWithTheOtherFields()
    {
        var parsed = LogfmtLine.ParseLine("time=\"2026-12-01T22:00:00.123456789Z\" level=warning msg=\"failed to \\\"stop\\\" it\" module=libcontainerd namespace=moby");

        Assert.Equal("2026-12-01T22:00:00.123456789Z", parsed.Timestamp!.Value.ToRfc3339());
        Assert.Equal(LogSeverity.Warning, parsed.Level);
        Assert.Equal("failed to \"stop\" it module=libcontainerd namespace=moby", parsed.Text);
    }

    [Theory]
    [InlineData("debug", LogSeverity.Debug)]
    [InlineData("info", LogSeverity.Info)]
    [InlineData("warning", LogSeverity.Warning)]
    [InlineData("error", LogSeverity.Error)]
    [InlineData("fatal", LogSeverity.Critical)]
    [InlineData("panic", LogSeverity.Critical)]
    public void Parse_Level_MapsLogrusLevels(string level, LogSeverity expected)
    {
        var parsed = LogfmtLine.ParseLine($"time=\"2026-12-01T22:00:00Z\" level={level} msg=x");

        Assert.Equal(expected, parsed.Level);
    }

    [Fact]
    public void Parse_TimeWithOffset_IsConvertedToUtc()
    {
        var parsed = LogfmtLine.ParseLine("time=\"2026-12-01T23:00:00.5+01:00\" level=info msg=hello");

        Assert.Equal("2026-12-01T22:00:00.500000000Z", parsed.Timestamp!.Value.ToRfc3339());
        Assert.Equal("hello", parsed.Text);
    }

    [Fact]
    public void Parse_LineWithoutTime_HasNoTimestampAndKeepsItsText()
    {
        var parsed = LogfmtLine.ParseLine("goroutine 1 [running]: ERROR in main");

        Assert.Null(parsed.Timestamp);
        Assert.Equal("goroutine 1 [running]: ERROR in main", parsed.Text);
        Assert.Equal(LogSeverity.Error, parsed.Level);
    }

    [Fact]
    public void Parse_UnreadableTime_IsNotALogfmtLine()
    {
        var parsed = LogfmtLine.ParseLine("time=yesterday level=info msg=x");

        Assert.Null(parsed.Timestamp);
        Assert.Equal("time=yesterday level=info msg=x", parsed.Text);
    }

    [Fact]
    public void Parse_UnterminatedQuote_TakesTheRestAsTheValue()
    {
        var parsed = LogfmtLine.ParseLine("time=\"2026-12-01T22:00:00Z\" level=error msg=\"cut off");

        Assert.Equal(LogSeverity.Error, parsed.Level);
        Assert.Equal("cut off", parsed.Text);
    }
}
