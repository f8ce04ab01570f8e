using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// The host log from a syslog file (no journal) rotated while a viewer follows it and while nobody does: every
/// numbered line exactly once, in order, with its own time, host, identifier and pid.
/// </summary>
public sealed class SyslogRotationTests(ITestOutputHelper output) : IDisposable
{
    private const string NoDocker = "unix:///run/lmit-no-docker-needed.sock";
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-syslog-").FullName;
    private string SyslogPath => Path.Combine(_directory, "syslog");

    [Theory]
    [InlineData("rename")]
    [InlineData("copytruncate")]
    public async Task Syslog_RotatedMidStream_EveryLineOnceInOrder(string rotation)
    {
        var writer = new SyslogWriter(SyslogPath);
        writer.Write(1, 40);
        await using var harness = Harness();
        var viewer = await harness.SubscribeAsync(LogSourceType.Host, tail: 1000);
        await Eventually.True(() => viewer.Entries.Count >= 40, "the history");

        writer.Write(41, 60);
        Rotate(rotation);
        writer.Write(61, 200);

        await Eventually.True(() => viewer.Entries.Count >= 200, "all 200 lines");
        Assert.Equal(SyslogWriter.Texts(1, 200), viewer.Texts);
        var last = viewer.Entries[^1].Record;
        Assert.Equal("lmit-box", last.Metadata![SyslogLine.HostnameKey]);
        Assert.Equal("lmit", last.Metadata[SyslogLine.IdentifierKey]);
        Assert.Equal("321", last.Metadata[SyslogLine.PidKey]);
        Assert.False(last.TimestampIsReceiveTime);
    }

    [Theory]
    [InlineData("rename")]
    [InlineData("copytruncate")]
    public async Task Syslog_RotatedWhileNobodyWatched_ResumeByCursorIsExact(string rotation)
    {
        var writer = new SyslogWriter(SyslogPath);
        writer.Write(1, 30);
        await using var harness = Harness();
        var first = await harness.SubscribeAsync(LogSourceType.Host, tail: 1000);
        await Eventually.True(() => first.Entries.Count >= 30, "the history");
        var cursor = HostLogHarness.CursorAfter(first.Entries[^1]);
        await harness.LeaveAsync(first);

        writer.Write(31, 45);
        Rotate(rotation);
        writer.Write(46, 60);
        var second = await harness.SubscribeAsync(LogSourceType.Host, cursor: cursor);

        await Eventually.True(() => second.Entries.Count >= 30, "the lines written since the cursor, across the rotation");
        writer.Write(61, 62);
        await Eventually.True(() => second.Entries.Count >= 32, "lines written after the resume");
        Assert.Equal(SyslogWriter.Texts(31, 62), second.Texts);
        Assert.Empty(second.Gaps);
    }

    [Fact]
    public async Task Syslog_EqualLinesInOneSecond_AreAllShown()
    {
        var writer = new SyslogWriter(SyslogPath);
        writer.WriteRaw("Dec  1 22:00:00 lmit-box lmit[321]: same", "Dec  1 22:00:00 lmit-box lmit[321]: same", "Dec  1 22:00:00 lmit-box lmit[321]: same");
        await using var harness = Harness();
        var viewer = await harness.SubscribeAsync(LogSourceType.Host);

        await Eventually.True(() => viewer.Entries.Count >= 3, "the three equal lines");
        Assert.Equal(["same", "same", "same"], viewer.Texts);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void Rotate(string rotation)
    {
        var rotated = FileHistory.RotatedPath(SyslogPath);
        if (rotation == "rename")
        {
            File.Move(SyslogPath, rotated, overwrite: true);
            return;
        }
        File.Copy(SyslogPath, rotated, overwrite: true);
        using var truncate = new FileStream(SyslogPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        truncate.SetLength(0);
    }

    private HostLogHarness Harness() =>
        new(output, "syslog-host", NoDocker, ("Docker:Hosts:syslog-host:SystemLog:File", SyslogPath));

    /// <summary>rsyslog's high-precision format, one line per number, each a microsecond after the one before.</summary>
    private sealed class SyslogWriter(string path)
    {
        private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-5);

        public static List<string> Texts(int first, int last) => [.. Enumerable.Range(first, last - first + 1).Select(i => $"line {i}")];

        public void Write(int first, int last) =>
            WriteRaw([.. Enumerable.Range(first, last - first + 1).Select(i => $"{Start.AddTicks(i * 10):yyyy-MM-ddTHH:mm:ss.ffffff}+00:00 lmit-box lmit[321]: line {i}")]);

        public void WriteRaw(params string[] lines)
        {
            using var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
            foreach (var line in lines)
                writer.Write(line + "\n");
        }
    }
}
