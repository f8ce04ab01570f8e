using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// The container access mode on the second engine: a reader container there (busybox <c>tail -F</c>) reads a daemon
/// log bind-mounted read-only from the test's folder. The lines are those this process reads from the same file
/// itself, and the reader is gone once the last viewer left.
/// </summary>
public sealed class ReaderContainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-reader-").FullName;

    [Fact]
    public async Task ContainerAccess_SameLinesAsLocal_AndTheReaderIsRemovedAfterTheLastViewer()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 30);
        await using var remote = new HostLogHarness(output, TestEngines.Second, endpoint,
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:Access", "Container"),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:ReaderImage", DockerCli.Image));
        await using var local = new HostLogHarness(output, TestEngines.Second, endpoint, ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile));

        var throughContainer = await remote.SubscribeAsync(LogSourceType.Daemon, tail: 100);
        var direct = await local.SubscribeAsync(LogSourceType.Daemon, tail: 100);
        await Eventually.True(() => throughContainer.Entries.Count >= 30, "the history through the reader container");
        Assert.Single(await ReadersAsync(endpoint));
        Append(logFile, 31, 45);
        await Eventually.True(() => throughContainer.Entries.Count >= 45 && direct.Entries.Count >= 45, "the appended lines on both");

        Assert.Equal([.. Enumerable.Range(1, 45).Select(i => $"line {i}")], throughContainer.Texts);
        Assert.Equal(direct.Entries.Select(e => (e.Text, e.Timestamp, e.Record.Level)), throughContainer.Entries.Select(e => (e.Text, e.Timestamp, e.Record.Level)));
        Assert.Equal(LogSeverity.Warning, throughContainer.Entries[2].Record.Level);

        await remote.LeaveAsync(throughContainer);
        await Eventually.True(async () => (await ReadersAsync(endpoint)).Length == 0, "the reader container to be removed");
    }

    [Fact]
    public async Task StartupCleanup_RemovesReadersOfAnEarlierRun_NotThoseOfThisOne()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var name = DockerCli.UniqueName("stale-reader");
        await DockerCli.RunAsync(endpoint, "create", "--name", name, "--label", $"{ReaderContainer.OwnerLabel}={ReaderContainer.Owner}",
            "--label", $"{ReaderContainer.RunLabel}=an-earlier-run", DockerCli.Image, "sleep", "1");
        var hosts = TestEngines.Hosts(TestEngines.Second);

        var removed = await ReaderContainerCleanup.RemoveStaleAsync(hosts, TestEngines.Second, CancellationToken.None);

        Assert.True(removed >= 1);
        var left = await DockerCli.TryRunAsync(endpoint, "inspect", name);
        Assert.NotEqual(0, left.ExitCode);
        hosts.Dispose();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<string[]> ReadersAsync(string endpoint) =>
        (await DockerCli.RunAsync(endpoint, "ps", "-aq", "--filter", $"label={ReaderContainer.RunLabel}={ReaderContainer.Run}"))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void Append(string path, int first, int last)
    {
        using var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite));
        var start = new DateTimeOffset(2026, 12, 1, 22, 0, 0, TimeSpan.Zero);
        for (var i = first; i <= last; i++)
            writer.Write($"time=\"{start.AddTicks(i * 10):yyyy-MM-ddTHH:mm:ss.fffffff}00Z\" level={(i % 3 == 0 ? "warning" : "info")} msg=\"line {i}\"\n");
    }
}
