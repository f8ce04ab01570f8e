using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// A time range's <c>until</c> on the host and daemon routes (real journal files read by journalctl, real log files),
/// and a journal entry longer than <c>MaxLineBytes</c> (cut with a visible mark, never dropped).
/// </summary>
public sealed class HostLogRangeTests(ITestOutputHelper output) : IDisposable
{
    private const string NoDocker = "unix:///run/lmit-no-docker-needed.sock";
    private const string HostId = "range-host";
    private static readonly long Base = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds() * 1000;
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-range-").FullName;

    [Fact]
    public async Task Journal_Until_EndsTheRangeAtThatTime()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        await journal.AppendAsync([.. Enumerable.Range(1, 6).Select(i => new JournalLine($"line {i}", 6) { RealtimeMicros = Base + i * 1_000_000L })]);
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:SystemLog:JournalFile", journal.Path));

        // line 3's microsecond, with the sequence number's nanoseconds below it: until at the end of that microsecond.
        var until = new LogTimestamp((Base + 3 * 1_000_000L) * 1000 + 999);
        var texts = await ReadAsync(harness, LogSourceType.Host, SourceStart.Range(new LogTimestamp((Base + 2 * 1_000_000L) * 1000), until));

        Assert.Equal(["line 2", "line 3"], texts);
    }

    [Fact]
    public async Task DaemonLogFile_Until_StopsAtTheFirstLinePastIt()
    {
        var file = Path.Combine(_directory, "dockerd.log");
        await File.WriteAllLinesAsync(file, Enumerable.Range(1, 6).Select(i =>
            $"time=\"{DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + i * 1000):yyyy-MM-ddTHH:mm:ss.fffZ}\" level=info msg=\"line {i}\""));
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:DaemonLog:File", file));

        var until = LogTimestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + 4 * 1000));
        var texts = await ReadAsync(harness, LogSourceType.Daemon, SourceStart.Range(null, until));

        Assert.Equal(["line 1", "line 2", "line 3", "line 4"], texts);
    }

    [Fact]
    public async Task DaemonLogFile_Until_KeepsALaterLineStampedBeforeIt_AndSkipsThoseAfterIt()
    {
        var file = Path.Combine(_directory, "dockerd.log");
        // "late" was written after line 5 but stamped before until (two goroutines' lines, or a clock step): it is in
        // the range; line 5 is not, and lines past until + the slack end the read.
        int[] seconds = [1, 2, 3, 5, 3, 20];
        string[] names = ["line 1", "line 2", "line 3", "line 5", "late", "line 20"];
        await File.WriteAllLinesAsync(file, seconds.Select((second, i) =>
            $"time=\"{DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + second * 1000 + i):yyyy-MM-ddTHH:mm:ss.fffZ}\" level=info msg=\"{names[i]}\""));
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:DaemonLog:File", file));

        var until = LogTimestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + 4 * 1000));
        var texts = await ReadAsync(harness, LogSourceType.Daemon, SourceStart.Range(null, until));

        Assert.Equal(["line 1", "line 2", "line 3", "late"], texts);
    }

    [Fact]
    public async Task DaemonJournal_Range_IsCutOnDockerdsOwnTime_NotTheJournals()
    {
        // The journal stamps a dockerd line when it receives it, a little after dockerd's own time=: a range's ends are
        // dockerd's times, so an entry received after until but stamped by dockerd before it is in the range, and one
        // received after since but stamped before it is not.
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        static string Dockerd(long micros, string message) =>
            $"time=\"{DateTimeOffset.FromUnixTimeMilliseconds(micros / 1000):yyyy-MM-ddTHH:mm:ss.fff}000000Z\" level=info msg=\"{message}\"";
        await journal.AppendAsync(
            new JournalLine(Dockerd(Base + 1_900_000, "before since"), 6, Unit: "docker.service") { RealtimeMicros = Base + 2_100_000 },
            new JournalLine(Dockerd(Base + 2_500_000, "inside"), 6, Unit: "docker.service") { RealtimeMicros = Base + 2_600_000 },
            new JournalLine(Dockerd(Base + 2_900_000, "inside, received after until"), 6, Unit: "docker.service") { RealtimeMicros = Base + 3_300_000 },
            new JournalLine(Dockerd(Base + 3_400_000, "after until"), 6, Unit: "docker.service") { RealtimeMicros = Base + 3_500_000 });
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:DaemonLog:JournalFile", journal.Path));

        var texts = await ReadAsync(harness, LogSourceType.Daemon,
            SourceStart.Range(new LogTimestamp((Base + 2_000_000) * 1000), new LogTimestamp((Base + 3_000_000) * 1000)));

        Assert.Equal(["inside", "inside, received after until"], texts);
    }

    [Fact]
    public async Task Journal_AnEntryLongerThanMaxLineBytes_IsCutWithAMark_AndTheNextOneFollows()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        var huge = new string('x', 5000);
        await journal.AppendAsync(new JournalLine("before", 6), new JournalLine(huge, 6), new JournalLine("after", 6));
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:SystemLog:JournalFile", journal.Path),
            ("Docker:HostLogs:MaxLineBytes", "1024"));

        var viewer = await harness.SubscribeAsync(LogSourceType.Host);
        await Eventually.True(() => viewer.Texts.Contains("after"), "the entry after the long one");

        Assert.Equal(3, viewer.Entries.Count);
        var cut = viewer.Entries[1];
        Assert.Equal(new string('x', 1024) + JournalEntry.CutMark(1024), cut.Text);
        Assert.Equal("true", cut.Record.Metadata![JournalEntry.TruncatedKey]);
    }

    [Fact]
    public async Task DaemonLogFile_ALineLongerThanMaxLineBytes_IsCutWithAMark_AndTheNextOneFollows()
    {
        var file = Path.Combine(_directory, "dockerd.log");
        string Line(int second, string message) =>
            $"time=\"{DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + second * 1000):yyyy-MM-ddTHH:mm:ss.fffZ}\" level=info msg=\"{message}\"";
        await File.WriteAllLinesAsync(file, [Line(1, "before"), Line(2, new string('x', 5000)), Line(3, "after")]);
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:DaemonLog:File", file),
            ("Docker:HostLogs:MaxLineBytes", "1024"));

        var viewer = await harness.SubscribeAsync(LogSourceType.Daemon);
        await Eventually.True(() => viewer.Texts.Contains("after"), "the line after the long one");

        Assert.Equal(3, viewer.Entries.Count);
        var cut = viewer.Entries[1];
        Assert.StartsWith("xxxx", cut.Text, StringComparison.Ordinal);
        Assert.EndsWith(JournalEntry.CutMark(1024), cut.Text, StringComparison.Ordinal);
        Assert.Equal("true", cut.Record.Metadata![JournalEntry.TruncatedKey]);
        Assert.Equal(LogTimestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(Base / 1000 + 2000)).UnixNanoseconds / 1_000_000,
            cut.Timestamp.UnixNanoseconds / 1_000_000);
    }

    [Fact]
    public async Task Journal_AnEntryLongerThanItsJsonBound_IsAMarkerAtItsTime_AndTheNextOneFollows()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        // MaxLineBytes 1024: an entry's JSON is read up to 6 x 1024 + 64 KiB; this one is longer.
        await journal.AppendAsync(
            new JournalLine("before", 6) { RealtimeMicros = Base + 1_000_000 },
            new JournalLine(new string('z', 100_000), 6) { RealtimeMicros = Base + 2_000_000 },
            new JournalLine("after", 6) { RealtimeMicros = Base + 3_000_000 });
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:SystemLog:JournalFile", journal.Path),
            ("Docker:HostLogs:MaxLineBytes", "1024"));

        var source = harness.Host.Get<LogSourceRegistry>().Get(LogSourceType.Host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var resource = await source.ResolveAsync(HostId, HostId, timeout.Token);
        var records = new List<SourceRecord>();
        await foreach (var record in source.ReadAsync(new StreamKey(HostId, LogSourceType.Host, resource), SourceStart.Range(null, null), timeout.Token))
            records.Add(record);

        Assert.Equal(3, records.Count);
        Assert.Equal("before", records[0].Text);
        Assert.NotNull(records[1].Incomplete);
        Assert.Contains("longer than", records[1].Text, StringComparison.Ordinal);
        // Its own time when journalctl wrote it before the message (its fields come in no fixed order), else the
        // entry's before it: between the two either way.
        Assert.InRange(records[1].Timestamp.UnixNanoseconds, records[0].Timestamp.UnixNanoseconds, (Base + 2_000_000) * 1000);
        Assert.Equal("after", records[2].Text);
    }

    [Fact]
    public async Task ConfiguredDaemonJournalWithoutUnit_ReadsDockerServiceOnly()
    {
        var journal = new JournalWriter(Path.Combine(_directory, "system.journal"));
        await journal.AppendAsync(new JournalLine("kernel says", 6, Unit: "other.service"), new JournalLine("dockerd says", 6, Unit: "docker.service"));
        await using var harness = new HostLogHarness(output, HostId, NoDocker, ($"Docker:Hosts:{HostId}:DaemonLog:JournalFile", journal.Path));

        var texts = await ReadAsync(harness, LogSourceType.Daemon, SourceStart.Range(null, null));

        Assert.Equal(["dockerd says"], texts);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<List<string>> ReadAsync(HostLogHarness harness, LogSourceType type, SourceStart start)
    {
        var source = harness.Host.Get<LogSourceRegistry>().Get(type);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var resource = await source.ResolveAsync(HostId, HostId, timeout.Token);
        var texts = new List<string>();
        await foreach (var record in source.ReadAsync(new StreamKey(HostId, type, resource), start, timeout.Token))
            texts.Add(record.Text);
        return texts;
    }
}
