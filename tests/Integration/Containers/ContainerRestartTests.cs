using LogsMigration.Docker.Containers;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Containers;

/// <summary>A followed container restarted with <c>docker restart</c>: the read goes on with the new run.</summary>
public sealed class ContainerRestartTests(ITestOutputHelper output)
{
    private const int LinesPerRun = 20;

    [Fact]
    public async Task ReadAsync_ContainerRestartedMidFollow_ContinuesWithNoLineLostOrRepeated()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
        using var hosts = TestEngines.Hosts(TestEngines.Main);
        var source = new ContainerLogSource(hosts, Microsoft.Extensions.Options.Options.Create(TestEngines.Options(TestEngines.Main)),
            TimeProvider.System, loggers.CreateLogger<ContainerLogSource>());
        // Each run numbers its lines from 1 under a run id of its own.
        await using var container = await TestContainer.RunAsync(endpoint, "restart",
            "r=$RANDOM$RANDOM; i=0; while true; do i=$((i+1)); echo \"run=$r n=$i\"; sleep 0.02; done");
        var key = new StreamKey(TestEngines.Main, LogSourceType.Container, container.Id);
        var records = new List<SourceRecord>();
        using var stop = new CancellationTokenSource();
        var read = Task.Run(async () =>
        {
            await foreach (var record in source.ReadAsync(key, SourceStart.TailThenFollow(0), stop.Token))
                lock (records)
                    records.Add(record);
        });
        string[] Texts() { lock (records) return records.Select(r => r.Text).ToArray(); }
        await Eventually.True(() => Texts().Length >= LinesPerRun, $"{LinesPerRun} lines of the first run");

        await DockerCli.RunAsync(endpoint, "restart", "-t", "0", container.Name);

        await Eventually.True(() => Records.AssertContiguousPerRun(Texts()) is { Count: 2 } runs && runs[1].Numbers.Count >= LinesPerRun,
            $"{LinesPerRun} lines of the second run");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);

        SourceRecord[] streamed;
        lock (records)
            streamed = [.. records];
        var runs = Records.AssertContiguousPerRun(streamed.Select(r => r.Text));
        Assert.Equal(2, runs.Count);
        Assert.Equal(1, runs[1].Numbers[0]);
        // The exact proof: between the first and the last line streamed, Docker holds exactly the lines streamed.
        var stored = (await DockerCli.RunAsync(endpoint, "logs", "-t", container.Name))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => (Timestamp: l[..l.IndexOf(' ')], Text: l[(l.IndexOf(' ') + 1)..]))
            .SkipWhile(l => l.Timestamp != streamed[0].Timestamp.ToRfc3339())
            .Take(streamed.Length)
            .ToArray();
        Assert.Equal(stored, streamed.Select(r => (r.Timestamp.ToRfc3339(), r.Text)));
    }
}
