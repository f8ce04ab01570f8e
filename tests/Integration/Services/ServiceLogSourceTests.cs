using LogsMigration.Docker;
using LogsMigration.Docker.Services;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Services;

/// <summary>Swarm service logs from the real <c>main</c> manager, whose tasks run on it and on <c>worker</c>.</summary>
public sealed class ServiceLogSourceTests(ITestOutputHelper output) : IDisposable
{
    private const int LinesPerReplica = 30;
    private const string Numbered = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.1; done";

    /// <summary>Wider than the default so the order check does not depend on the machine's load.</summary>
    private static readonly TimeSpan MergeWindow = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(60);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
    private readonly DockerHosts _hosts = TestEngines.Hosts(TestEngines.Main, TestEngines.Worker, TestEngines.Second);

    [Fact]
    public async Task ReadAsync_ThreeReplicasThenFour_EveryLineOnceAttributedOrderedAndEndsOnRemoval()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var service = await TestService.CreateAsync(endpoint, "replicas", 3, Numbered);
        await Eventually.True(async () => (await service.RunningTasksAsync()).Count == 3, "three running replicas", ConvergeTimeout);
        var source = Source();
        var id = await source.ResolveAsync(TestEngines.Main, service.Name, CancellationToken.None);
        var key = new StreamKey(TestEngines.Main, LogSourceType.Service, id);
        var records = new List<SourceRecord>();
        // Everything from each task's first line on, then live.
        var read = Task.Run(async () =>
        {
            await foreach (var record in source.ReadAsync(key, SourceStart.LiveAll(), CancellationToken.None))
                lock (records)
                    records.Add(record);
        });
        SourceRecord[] Snapshot() { lock (records) return [.. records]; }
        int LinesOf(string replica) => Snapshot().Count(r => r.Metadata?.GetValueOrDefault("replica") == replica);
        await Eventually.True(() => new[] { "1", "2", "3" }.All(r => LinesOf(r) >= LinesPerReplica), $"{LinesPerReplica} lines of each replica");

        await service.ScaleAsync(4);
        await Eventually.True(() => LinesOf("4") >= LinesPerReplica / 3, "lines of the replica added while streaming", ConvergeTimeout);
        var tasks = await service.RunningTasksAsync();
        await service.RemoveAsync();

        await read.WaitAsync(TimeSpan.FromSeconds(30));
        var all = Snapshot();
        Assert.Equal(id, service.Id);
        Assert.Equal(new[] { "1", "2", "3", "4" }, all.Select(r => r.Metadata!["replica"]).Distinct().Order());
        foreach (var task in all.GroupBy(r => r.Metadata!["task_id"]))
        {
            // Every line of every replica exactly once: 1, 2, 3… with none missing or repeated.
            var numbers = Records.AssertContiguousPerRun(task.Select(r => r.Text));
            Assert.Equal(1, Assert.Single(numbers).Numbers[0]);
            var metadata = task.First().Metadata!;
            Assert.All(task, r => Assert.Same(metadata, r.Metadata));
            Assert.Equal(tasks[task.Key].ToString(System.Globalization.CultureInfo.InvariantCulture), metadata["replica"]);
            Assert.Equal($"{service.Name}.{metadata["replica"]}.{task.Key}", metadata["task_name"]);
            Assert.Equal((service.Name, service.Id), (metadata["service_name"], metadata["service_id"]));
            Assert.False(string.IsNullOrEmpty(metadata["node_id"]));
        }
        // Replicas merged in timestamp order.
        Assert.All(all.Zip(all.Skip(1)), pair => Assert.True(pair.First.Timestamp <= pair.Second.Timestamp,
            $"{pair.First.Timestamp} {pair.First.Text} ({pair.First.Metadata!["replica"]}) came before {pair.Second.Timestamp} {pair.Second.Text} ({pair.Second.Metadata!["replica"]})"));
    }

    /// <summary>
    /// A read without follow is timed for Docker's stall (<c>Docker:ServiceReadStallTimeout</c>), but a consumer that
    /// holds a line longer than that (a slow download, a stack's merge waiting for another member) is not Docker
    /// stalling: the read goes on, with no re-read and no marker. (It counted the consumer's time, took it for stalls,
    /// and gave up after the retries with a marker saying lines may be missing.)
    /// </summary>
    [Fact]
    public async Task ReadAsync_HistoryWithAConsumerSlowerThanTheStallTimeout_EveryLineOnceWithoutAMarker()
    {
        const int Lines = 5000;
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var service = await TestService.CreateAsync(endpoint, "slowconsumer", 1,
            $"seq {Lines} | sed 's/^/n=/'; exec sleep 100000");
        await Eventually.True(async () => (await DockerCli.RunAsync(endpoint, "service", "logs", "--raw", "--tail", "1", service.Name)).Contains($"n={Lines}", StringComparison.Ordinal),
            "the task wrote all its lines", ConvergeTimeout);
        var options = TestEngines.Options(TestEngines.Main, TestEngines.Worker, TestEngines.Second);
        options.ServiceReadStallTimeout = TimeSpan.FromSeconds(1);
        options.ServiceReadStallRetries = 1;
        var source = new ServiceLogSource(_hosts, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, _loggers.CreateLogger<ServiceLogSource>());
        var key = new StreamKey(TestEngines.Main, LogSourceType.Service, service.Id);

        var records = new List<SourceRecord>();
        await foreach (var record in source.ReadAsync(key, SourceStart.History(Lines), CancellationToken.None))
        {
            records.Add(record);
            // Held longer than the stall timeout, three times: what a slow viewer does to the read.
            if (records.Count is 1 or 2000 or 4000)
                await Task.Delay(TimeSpan.FromSeconds(2));
        }

        Assert.Empty(records.Where(r => r.Incomplete is not null).Select(r => r.Incomplete));
        Assert.Equal(Enumerable.Range(1, Lines).Select(i => $"n={i}"), records.Select(r => r.Text));
    }

    [Theory]
    [InlineData(TestEngines.Second, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\"")]
    [InlineData(TestEngines.Worker, "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.")]
    public async Task ResolveAndReadAsync_OnHostThatIsNotAManager_NotSupportedWithTheDaemonsMessage(string engine, string daemonSays)
    {
        var source = Source();
        var key = new StreamKey(engine, LogSourceType.Service, "anything");

        var resolve = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(engine, "anything", CancellationToken.None).AsTask());
        var read = await Assert.ThrowsAsync<LogSourceException>(() => Records.ReadAllAsync(source.ReadAsync(key, SourceStart.History(10), CancellationToken.None)));

        Assert.Equal(LogSourceErrorKind.NotSupported, resolve.Kind);
        Assert.StartsWith(daemonSays, resolve.Message, StringComparison.Ordinal);
        Assert.Equal((LogSourceErrorKind.NotSupported, resolve.Message), (read.Kind, read.Message));
    }

    [Fact]
    public async Task ResolveAsync_UnknownServiceOrHost_NotFound()
    {
        var source = Source();
        var missing = DockerCli.UniqueName("missing");

        var service = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Main, missing, CancellationToken.None).AsTask());
        var host = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync("no-such-host", missing, CancellationToken.None).AsTask());

        Assert.Equal((LogSourceErrorKind.NotFound, $"No such service: {missing}"), (service.Kind, service.Message));
        Assert.Equal((LogSourceErrorKind.NotFound, "Unknown Docker host 'no-such-host'."), (host.Kind, host.Message));
    }

    public void Dispose()
    {
        _hosts.Dispose();
        _loggers.Dispose();
    }

    private ServiceLogSource Source()
    {
        var options = TestEngines.Options(TestEngines.Main, TestEngines.Worker, TestEngines.Second);
        options.ServiceMergeWindow = MergeWindow;
        return new ServiceLogSource(_hosts, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, _loggers.CreateLogger<ServiceLogSource>());
    }
}
