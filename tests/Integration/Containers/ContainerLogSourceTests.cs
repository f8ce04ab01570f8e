using LogsMigration.Docker;
using LogsMigration.Docker.Containers;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Containers;

/// <summary>Container logs read from the real <c>main</c> engine.</summary>
public sealed class ContainerLogSourceTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ShortGrace = TimeSpan.FromMilliseconds(500);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
    private readonly DockerHosts _hosts = TestEngines.Hosts(TestEngines.Main);

    private string Endpoint => TestEngines.Endpoint(TestEngines.Main);

    [Fact]
    public async Task ReadAsync_HistoryOfNumberedLines_ExactLinesOnStdoutWithNanosecondTimestamps()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "history", "for i in $(seq 1 200); do echo \"n=$i\"; done");
        await container.WaitForExitAsync();
        var source = Source();

        var id = await source.ResolveAsync(TestEngines.Main, container.Name, CancellationToken.None);
        var records = await Records.ReadAllAsync(source.ReadAsync(Key(id), SourceStart.History(1000), CancellationToken.None));

        Assert.Equal(container.Id, id);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"n={i}"), records.Select(r => r.Text));
        Assert.All(records, r => Assert.Equal(OutputStream.Stdout, r.Stream));
        Assert.All(records, r => Assert.False(r.TimestampIsReceiveTime));
        // The timestamps are Docker's to the nanosecond: the same strings as `docker logs -t`, both ways.
        var cli = (await DockerCli.RunAsync(Endpoint, "logs", "-t", container.Name)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cli.Select(l => l[..l.IndexOf(' ')]), records.Select(r => r.Timestamp.ToRfc3339()));
        Assert.All(cli.Zip(records), pair => Assert.True(LogTimestamp.TryParse(pair.First.AsSpan(0, pair.First.IndexOf(' ')), out var ts) && ts == pair.Second.Timestamp));
        Assert.Contains(records, r => r.Timestamp.UnixNanoseconds % 100 != 0);
        // One metadata dictionary for the whole read, naming the container.
        var metadata = records[0].Metadata!;
        Assert.All(records, r => Assert.Same(metadata, r.Metadata));
        Assert.Equal(container.Name, metadata["container_name"]);
        Assert.Equal(container.Id[..12], metadata["container_id"]);
    }

    [Fact]
    public async Task ReadAsync_StdoutAndStderr_EachLineMarkedWithItsStream()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "streams", "echo out1; echo err1 >&2; echo out2; echo err2 >&2");
        await container.WaitForExitAsync();
        var source = Source();

        var both = await Records.ReadAllAsync(source.ReadAsync(Key(container.Id), SourceStart.History(100), CancellationToken.None));
        var stderrOnly = await Records.ReadAllAsync(source.ReadAsync(Key(container.Id, StreamSelection.Stderr), SourceStart.History(100), CancellationToken.None));

        Assert.Equal(4, both.Count);
        Assert.All(both, r => Assert.Equal(r.Text.StartsWith("err", StringComparison.Ordinal) ? OutputStream.Stderr : OutputStream.Stdout, r.Stream));
        Assert.Equal(["err1", "err2"], stderrOnly.Select(r => r.Text));
        Assert.All(stderrOnly, r => Assert.Equal(OutputStream.Stderr, r.Stream));
    }

    [Fact]
    public async Task ReadAsync_TtyContainer_LinesWithoutCarriageReturnAndLongLineWhole()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "tty",
            "echo first; head -c 40960 /dev/zero | tr '\\0' y; echo; echo last", "-t");
        await container.WaitForExitAsync();

        var records = await Records.ReadAllAsync(Source().ReadAsync(Key(container.Id), SourceStart.History(100), CancellationToken.None));

        Assert.Equal(["first", new string('y', 40960), "last"], records.Select(r => r.Text));
        Assert.DoesNotContain(records, r => r.Text.Contains('\r'));
    }

    [Fact]
    public async Task ReadAsync_LinesLongerThan16KiB_ArriveAsOneRecordEach()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "long",
            "head -c 40960 /dev/zero | tr '\\0' x; echo; printf x; yes é | head -n 10000 | tr -d '\\n'; echo; echo after");
        await container.WaitForExitAsync();

        var records = await Records.ReadAllAsync(Source().ReadAsync(Key(container.Id), SourceStart.History(100), CancellationToken.None));

        Assert.Equal(3, records.Count);
        Assert.Equal(40960, records[0].Text.Length);
        Assert.Equal(new string('x', 40960), records[0].Text);
        // 20 001 bytes whose 16 KiB partial boundary falls inside a two-byte character. json-file stores each partial
        // as a JSON string and so replaces the cut character's halves by U+FFFD: Docker itself keeps no more than
        // `docker logs` prints, and the record is exactly that, as one line.
        var cli = (await DockerCli.RunAsync(Endpoint, "logs", container.Name)).Split('\n');
        Assert.Equal(cli[1], records[1].Text);
        Assert.StartsWith("x" + new string('é', 8191), records[1].Text, StringComparison.Ordinal);
        Assert.EndsWith(new string('é', 1808), records[1].Text, StringComparison.Ordinal);
        Assert.Equal("after", records[2].Text);
    }

    [Fact]
    public async Task ReadAsync_LastLineWithoutNewline_Arrives()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "noeol", "echo first; printf last-without-newline");
        await container.WaitForExitAsync();

        var records = await Records.ReadAllAsync(Source().ReadAsync(Key(container.Id), SourceStart.History(100), CancellationToken.None));

        Assert.Equal(["first", "last-without-newline"], records.Select(r => r.Text));
    }

    [Fact]
    public async Task ReadAsync_FollowedContainerExitsAndStaysStopped_EndsAfterTheGrace()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "exits", "echo a; sleep 1; echo b");
        var connected = 0;
        var start = SourceStart.TailThenFollow(100) with { OnConnected = () => Interlocked.Increment(ref connected) };

        var records = await Records.ReadAllAsync(Source(ShortGrace).ReadAsync(Key(container.Id), start, CancellationToken.None));

        Assert.Equal(["a", "b"], records.Select(r => r.Text));
        Assert.Equal(1, connected);
    }

    [Fact]
    public async Task ReadAsync_FollowedContainerRemoved_EndsWithoutFault()
    {
        await using var container = await TestContainer.RunAsync(Endpoint, "removed", "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.05; done");
        var records = new List<SourceRecord>();
        var read = Task.Run(async () =>
        {
            await foreach (var record in Source().ReadAsync(Key(container.Id), SourceStart.TailThenFollow(0), CancellationToken.None))
                lock (records)
                    records.Add(record);
        });
        await Eventually.True(() => { lock (records) return records.Count >= 5; }, "five lines");

        await DockerCli.RunAsync(Endpoint, "rm", "-f", container.Name);

        await read.WaitAsync(TimeSpan.FromSeconds(60));
        Records.AssertContiguousPerRun(records.Select(r => r.Text));
    }

    [Fact]
    public async Task ResolveAsync_UnknownContainerOrHost_NotFound()
    {
        var source = Source();
        var missing = DockerCli.UniqueName("missing");

        var container = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Main, missing, CancellationToken.None).AsTask());
        var read = await Assert.ThrowsAsync<LogSourceException>(() => Records.ReadAllAsync(source.ReadAsync(Key(missing), SourceStart.History(10), CancellationToken.None)));
        var host = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync("no-such-host", missing, CancellationToken.None).AsTask());

        Assert.Equal((LogSourceErrorKind.NotFound, $"No such container: {missing}"), (container.Kind, container.Message));
        Assert.Equal(LogSourceErrorKind.NotFound, read.Kind);
        Assert.Equal((LogSourceErrorKind.NotFound, "Unknown Docker host 'no-such-host'."), (host.Kind, host.Message));
    }

    public void Dispose()
    {
        _hosts.Dispose();
        _loggers.Dispose();
    }

    private static StreamKey Key(string id, StreamSelection streams = StreamSelection.Both) => new(TestEngines.Main, LogSourceType.Container, id, streams);

    private ContainerLogSource Source(TimeSpan? restartGrace = null)
    {
        var options = TestEngines.Options(TestEngines.Main);
        options.RestartGrace = restartGrace ?? options.RestartGrace;
        return new ContainerLogSource(_hosts, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, _loggers.CreateLogger<ContainerLogSource>());
    }
}
