using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// The daemon log of the test's private engine: the <c>dockerd.log</c> that scripts/docker-engine.sh makes it write,
/// read while containers start and stop, each line with dockerd's own time and level.
/// </summary>
public sealed class DaemonLogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DaemonLogFile_ContainersStartAndStop_LinesWithDockerdsOwnTimesAndLevels()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var logFile = Path.Combine(Path.GetDirectoryName(TestEngines.SocketPath(endpoint))!, "dockerd.log");
        await using var harness = new HostLogHarness(output, TestEngines.Main, endpoint, ($"Docker:Hosts:{TestEngines.Main}:DaemonLog:File", logFile));
        var viewer = await harness.SubscribeAsync(LogSourceType.Daemon, tail: 0);

        var name = DockerCli.UniqueName("daemonlog");
        var id = (await DockerCli.RunAsync(endpoint, "run", "-d", "--name", name, DockerCli.Image, "sh", "-c", "echo started; sleep 0.2")).Trim();
        await DockerCli.RunAsync(endpoint, "wait", id);
        await DockerCli.TryRunAsync(endpoint, "rm", "-f", id);

        // dockerd logs the end of the container's task ("ignoring event … container=<id> … topic=/tasks/delete").
        await Eventually.True(() => viewer.Entries.Any(e => e.Text.Contains(id, StringComparison.Ordinal)), "a daemon line about the container");
        var fileLines = File.ReadAllLines(logFile).Where(l => l.Contains(id, StringComparison.Ordinal)).Select(LogfmtLine.ParseLine).ToList();
        var streamed = viewer.Entries.Where(e => e.Text.Contains(id, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(fileLines);
        foreach (var entry in streamed)
        {
            Assert.False(entry.Record.TimestampIsReceiveTime);
            var inFile = fileLines.FirstOrDefault(l => l.Text == entry.Text);
            Assert.NotNull(inFile);
            Assert.Equal(inFile.Timestamp, entry.Timestamp);
            Assert.Equal(inFile.Level, entry.Record.Level);
            Assert.NotEqual(LogSeverity.Unknown, entry.Record.Level);
        }
        Assert.DoesNotContain(viewer.Entries, e => e.Text.StartsWith("time=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DaemonLogFile_History_IsARunOfTheFilesLinesInOrder()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var logFile = Path.Combine(Path.GetDirectoryName(TestEngines.SocketPath(endpoint))!, "dockerd.log");
        await using var harness = new HostLogHarness(output, TestEngines.Main, endpoint, ($"Docker:Hosts:{TestEngines.Main}:DaemonLog:File", logFile));

        var viewer = await harness.SubscribeAsync(LogSourceType.Daemon, tail: 20);

        await Eventually.True(() => viewer.Entries.Count >= 20, "20 lines of history");
        // Other tests make the daemon write meanwhile: the history is 20 consecutive lines of the file, not its very end.
        var file = File.ReadAllLines(logFile).Select(LogfmtLine.ParseLine).ToList();
        var history = viewer.Entries.Take(20).ToList();
        var start = file.FindIndex(l => l.Text == history[0].Text && l.Timestamp == history[0].Timestamp);
        Assert.True(start >= 0, $"'{history[0].Text}' is not a line of {logFile}");
        Assert.Equal(file.Skip(start).Take(20).Select(l => (l.Text, l.Timestamp)), history.Select(e => (e.Text, (LogTimestamp?)e.Timestamp)));
    }
}
