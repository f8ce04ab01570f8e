using LogsMigration.Docker;
using LogsMigration.Docker.Containers;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Containers;

/// <summary>
/// A container whose json-file log the daemon cannot read: its rotated, compressed files are overwritten with
/// garbage in the engine's data root (<c>.LogPath</c>), which the tests own. dockerd 20.10 then answers a read that
/// needs them with one system-error frame (stream 3), "Error grabbing logs: error getting reference to decompressed
/// log file: …", and ends the response. (Garbage in the live file itself it skips silently, line by line.)
/// </summary>
public sealed class CorruptLogFileTests(ITestOutputHelper output) : IDisposable
{
    private const string DaemonSays = "Error grabbing logs: error getting reference to decompressed log file";

    /// <summary>Small files so that a few dozen lines rotate into compressed ones.</summary>
    private static readonly string[] RotatedCompressed = ["--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--log-opt", "compress=true"];

    /// <summary>Writes 60 lines on its first run only (the marker file outlives a restart), so a restart rotates nothing.</summary>
    private const string FirstRunWrites = "if [ ! -f /written ]; then touch /written; for i in $(seq 1 60); do echo \"n=$i\"; done; fi; exec sleep 3600";

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
    private readonly DockerHosts _hosts = TestEngines.Hosts(TestEngines.Main);

    private static string Endpoint => TestEngines.Endpoint(TestEngines.Main);

    [Fact]
    public async Task ReadAsync_RotatedFilesCorrupted_FailsNotTransientWithTheDaemonsMessage()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "corrupt", FirstRunWrites, RotatedCompressed);
        await CorruptRotatedFilesAsync(container);
        var source = Source();
        var key = new StreamKey(TestEngines.Main, LogSourceType.Container, container.Id);

        var history = await TheDaemonsErrorAsync(() => source.ReadAsync(key, SourceStart.History(1000), CancellationToken.None));
        var follow = await TheDaemonsErrorAsync(() => source.ReadAsync(key, SourceStart.LiveAll(), CancellationToken.None));

        foreach (var ex in new[] { history, follow })
        {
            Assert.Equal(LogSourceErrorKind.Failed, ex.Kind);
            Assert.False(ex.IsTransient);
            Assert.StartsWith(DaemonSays, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Subscribe_LogCorruptedUnderAFollowedContainer_EndsWithTheDaemonsTextAndIsNotRetried()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "corruptfollow", FirstRunWrites, RotatedCompressed);
        await using var host = new PipelineHost(output, PipelineHost.Settings(TestEngines.Main, Endpoint,
            ("Pipeline:RetryInitialBackoff", "00:00:00.1"),
            ("Pipeline:RetryMaxBackoff", "00:00:00.5")));
        var key = new StreamKey(TestEngines.Main, LogSourceType.Container, container.Id);
        await Eventually.True(async () => (await RotatedFilesAsync(container)).Length == 2, "two rotated, compressed log files");
        await using var subscription = await host.Manager.SubscribeAsync(key, new SubscriptionRequest(Tail: 5), CancellationToken.None);
        var events = new List<StreamEvent>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadAllAsync(CancellationToken.None))
                lock (events)
                    events.Add(e);
        });
        await Eventually.True(() => { lock (events) return events.Count(e => e.Kind == StreamEventKind.Entry) >= 5; }, "the tail");

        // The followed container restarts; the source reopens its logs from the newest line, which makes the daemon
        // read the rotated files again: now they are garbage.
        await CorruptRotatedFilesAsync(container);
        await DockerCli.RunAsync(Endpoint, "restart", "-t", "1", container.Name);

        var fault = await Assert.ThrowsAsync<LogSourceException>(() => reading.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(LogSourceErrorKind.Failed, fault.Kind);
        Assert.StartsWith(DaemonSays, fault.Message, StringComparison.Ordinal);
        List<StreamEvent> seen;
        lock (events)
            seen = [.. events];
        // Not an outage: the upstream was not reopened, so no subscriber was told it is retrying.
        Assert.DoesNotContain(seen, e => e.Kind == StreamEventKind.Notice && e.Notice!.Kind == StreamNoticeKind.UpstreamRetrying);
        Assert.Equal(Enumerable.Range(56, 5).Select(i => $"n={i}"), seen.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text));
    }

    public void Dispose()
    {
        _hosts.Dispose();
        _loggers.Dispose();
    }

    /// <summary>Reads allowed before the daemon must have said why it cannot read the files.</summary>
    private const int ReadsForTheDaemonsError = 20;

    /// <summary>
    /// The error the read fails with. dockerd 20.10 sometimes loses its own error: the reader goroutine sends it and
    /// closes the message channel at once, and the API handler's <c>select</c> may take the closed channel first
    /// (daemon/logs.go), so the response ends empty and the daemon logs no "Error streaming logs". Seen here in 1 of
    /// 30 <c>docker logs --tail 1000</c> runs of this container. An empty read is that race and is read again; a read
    /// that gives a line failed the test (the corrupt files were read), and so do reads that never fail.
    /// </summary>
    private async Task<LogSourceException> TheDaemonsErrorAsync(Func<IAsyncEnumerable<SourceRecord>> read)
    {
        for (var attempt = 1; attempt <= ReadsForTheDaemonsError; attempt++)
        {
            List<SourceRecord> records;
            try
            {
                records = await Records.ReadAllAsync(read());
            }
            catch (LogSourceException ex)
            {
                return ex;
            }
            Assert.True(records.Count == 0, $"the read gave {records.Count} lines from corrupt files, first: {records.FirstOrDefault()?.Text}");
            output.WriteLine($"read {attempt} ended empty without the daemon's error (dockerd lost it); reading again");
        }
        Assert.Fail($"{ReadsForTheDaemonsError} reads ended without the daemon's error");
        return null!;
    }

    private static async Task<string[]> RotatedFilesAsync(TestContainer container)
    {
        var logPath = await LogPathAsync(container);
        return Directory.GetFiles(Path.GetDirectoryName(logPath)!, Path.GetFileName(logPath) + ".*.gz");
    }

    private static async Task<string> LogPathAsync(TestContainer container) =>
        (await DockerCli.RunAsync(container.Endpoint, "inspect", "--format", "{{.LogPath}}", container.Name)).Trim();

    private const string Garbage = "garbage, not gzip";

    private static async Task CorruptRotatedFilesAsync(TestContainer container)
    {
        // The writer done first: a file corrupted while the container still writes is rotated away again (on a busy
        // box two rotated files can exist before the 60th line is written), and a fresh, readable one takes its place.
        var logPath = await LogPathAsync(container);
        await Eventually.True(() => File.ReadAllText(logPath).Contains("\"n=60\\n\"", StringComparison.Ordinal), "the container's last line in its live log file");
        await Eventually.True(async () => (await RotatedFilesAsync(container)).Length == 2, "two rotated, compressed log files");
        // dockerd compresses a rotated file in the background and renames the result into place: a file overwritten
        // while that is under way comes back whole. Overwrite until every rotated file reads back as the garbage,
        // twice in a row.
        var settled = 0;
        await Eventually.True(async () =>
        {
            var files = await RotatedFilesAsync(container);
            var corrupt = files.Length == 2 && files.All(f => File.ReadAllText(f) == Garbage);
            if (!corrupt)
            {
                settled = 0;
                foreach (var file in files)
                    await File.WriteAllTextAsync(file, Garbage);
                return false;
            }
            return ++settled >= 2;
        }, "the rotated log files to stay corrupted");
    }

    private ContainerLogSource Source() =>
        new(_hosts, Microsoft.Extensions.Options.Options.Create(TestEngines.Options(TestEngines.Main)), TimeProvider.System, _loggers.CreateLogger<ContainerLogSource>());
}
