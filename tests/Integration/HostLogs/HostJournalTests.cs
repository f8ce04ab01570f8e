using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>The host log from a real journal file (written by systemd-journal-remote, read by journalctl).</summary>
public sealed class HostJournalTests(ITestOutputHelper output) : IDisposable
{
    private const string NoDocker = "unix:///run/lmit-no-docker-needed.sock";
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-journal-").FullName;

    [Fact]
    public async Task JournalFile_LevelsMetadataAndTimestamps_FromTheEntries()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        await journal.AppendAsync(
            new JournalLine("emergency", 0), new JournalLine("critical", 2), new JournalLine("error", 3), new JournalLine("warning", 4),
            new JournalLine("notice", 5), new JournalLine("info", 6), new JournalLine("debug", 7, Unit: "other.service", Identifier: "other", Pid: 7, Hostname: "elsewhere"));
        await using var harness = Harness(journal);

        var viewer = await harness.SubscribeAsync(LogSourceType.Host);
        await Eventually.True(() => viewer.Entries.Count >= 7, "the 7 entries");

        var entries = viewer.Entries;
        Assert.Equal(["emergency", "critical", "error", "warning", "notice", "info", "debug"], entries.Select(e => e.Text));
        Assert.Equal([LogSeverity.Critical, LogSeverity.Critical, LogSeverity.Error, LogSeverity.Warning, LogSeverity.Info, LogSeverity.Info, LogSeverity.Debug],
            entries.Select(e => e.Record.Level));
        Assert.All(entries, e => Assert.Equal(OutputStream.System, e.Record.Stream));
        Assert.All(entries, e => Assert.False(e.Record.TimestampIsReceiveTime));
        // The journal's microsecond; the nanoseconds below it are the entry's sequence number.
        Assert.Equal(journal.Written, entries.Select(e => e.Timestamp.UnixNanoseconds / 1000));
        var first = entries[0].Record.Metadata!;
        Assert.Equal("lmit.service", first[JournalEntry.UnitKey]);
        Assert.Equal("lmit", first[JournalEntry.IdentifierKey]);
        Assert.Equal("4242", first[JournalEntry.PidKey]);
        Assert.Equal("lmit-box", first[JournalEntry.HostnameKey]);
        Assert.Equal("other.service", entries[6].Record.Metadata![JournalEntry.UnitKey]);
        Assert.Equal("elsewhere", entries[6].Record.Metadata![JournalEntry.HostnameKey]);
    }

    [Fact]
    public async Task JournalFile_AppendedEntries_AreFollowed_AndEqualMessagesInOneMicrosecondStayTwoLines()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        await journal.AppendAsync(new JournalLine("before 1", 6), new JournalLine("before 2", 6));
        await using var harness = Harness(journal);
        var viewer = await harness.SubscribeAsync(LogSourceType.Host);
        await Eventually.True(() => viewer.Entries.Count >= 2, "the history");

        var same = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 + 500;
        await journal.AppendAsync(new JournalLine("Started.", 6) { RealtimeMicros = same }, new JournalLine("Started.", 6) { RealtimeMicros = same },
            new JournalLine("after", 4) { RealtimeMicros = same + 1 });

        await Eventually.True(() => viewer.Texts.Contains("after"), "the appended entries");
        Assert.Equal(["before 1", "before 2", "Started.", "Started.", "after"], viewer.Texts);
        Assert.Equal(LogSeverity.Warning, viewer.Entries[^1].Record.Level);
    }

    [Fact]
    public async Task JournalFile_ReconnectWithCursor_ResumesExactlyAfterTheLastLineSeen()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        await journal.AppendAsync([.. Enumerable.Range(1, 5).Select(i => new JournalLine($"line {i}", 6))]);
        await using var harness = Harness(journal);
        var first = await harness.SubscribeAsync(LogSourceType.Host);
        await Eventually.True(() => first.Entries.Count >= 5, "the history");
        await journal.AppendAsync([.. Enumerable.Range(6, 3).Select(i => new JournalLine($"line {i}", 6))]);
        await Eventually.True(() => first.Entries.Count >= 8, "the followed entries");
        var cursor = HostLogHarness.CursorAfter(first.Entries[^1]);

        await harness.LeaveAsync(first);
        // Written while nobody watched (the upstream journalctl is gone): the resume reads them from the journal.
        await journal.AppendAsync([.. Enumerable.Range(9, 4).Select(i => new JournalLine($"line {i}", 6))]);
        var second = await harness.SubscribeAsync(LogSourceType.Host, cursor: cursor);
        await Eventually.True(() => second.Entries.Count >= 4, "the lines written since the cursor");
        await journal.AppendAsync(new JournalLine("line 13", 6));
        await Eventually.True(() => second.Texts.Contains("line 13"), "a line written after the resume");

        Assert.Equal([.. Enumerable.Range(1, 8).Select(i => $"line {i}")], first.Texts);
        Assert.Equal([.. Enumerable.Range(9, 5).Select(i => $"line {i}")], second.Texts);
        Assert.Empty(second.Gaps);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private HostLogHarness Harness(JournalWriter journal) =>
        new(output, "journal-host", NoDocker, ("Docker:Hosts:journal-host:SystemLog:JournalFile", journal.Path));
}
