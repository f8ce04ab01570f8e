using LogsMigration.Docker;
using LogsMigration.Docker.Stacks;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Stacks;

/// <summary>
/// Stack logs from the real <c>main</c> manager (a stack deployed with <c>docker stack deploy</c>, its tasks on main and
/// on worker), and Compose projects of plain containers on <c>second</c>, outside any swarm.
/// </summary>
public sealed class StackLogSourceTests(ITestOutputHelper output) : IDisposable
{
    private const int LinesPerReplica = 30;
    private const int Jobs = 8;
    private const string Numbered = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.1; done";

    /// <summary>Wider than the default so the order check does not depend on the machine's load.</summary>
    private static readonly TimeSpan MergeWindow = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(90);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
    private readonly DockerHosts _hosts = TestEngines.Hosts(TestEngines.Main, TestEngines.Worker, TestEngines.Second);

    [Fact]
    public async Task ReadAsync_TwoServicesOfTwoReplicas_EveryLineOnceAttributedOrdered_AThirdJoins_ARemovedOneLeaves()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var stack = await TestStack.DeployAsync(endpoint, "stack", new Dictionary<string, (int, string)>
        {
            ["api"] = (2, Numbered),
            ["web"] = (2, Numbered),
        });
        await Eventually.True(async () => (await stack.RunningTasksAsync()).Count == 4, "four running tasks", ConvergeTimeout);
        var source = Source();
        var id = await source.ResolveAsync(TestEngines.Main, stack.Name, CancellationToken.None);
        var key = new StreamKey(TestEngines.Main, LogSourceType.Stack, id);
        using var reading = new RecordedRead(source.ReadAsync(key, SourceStart.LiveAll(), CancellationToken.None));
        int LinesOf(string service) => reading.Snapshot().Count(r => r.Metadata?.GetValueOrDefault("service_name") == stack.ServiceName(service));
        await Eventually.True(() => reading.Snapshot().GroupBy(r => r.Metadata?.GetValueOrDefault("task_id")).Count(g => g.Count() >= LinesPerReplica) == 4,
            $"{LinesPerReplica} lines of each of the four replicas", ConvergeTimeout);

        await stack.AddServiceAsync("worker", 1, Numbered);
        await Eventually.True(() => LinesOf("worker") >= LinesPerReplica / 3, "lines of the service deployed into the stack while streaming", ConvergeTimeout);

        var tasks = await stack.RunningTasksAsync();
        await stack.RemoveServiceAsync("api");
        // Once its containers are gone on both nodes nothing more of it can come: its count must stay while the others go on.
        await Eventually.True(async () => !await HasContainersAsync(stack.ServiceName("api")), "the removed service's containers to go", ConvergeTimeout);
        var apiAtRemoval = LinesOf("api");
        var webAfter = LinesOf("web");
        var workerAfter = LinesOf("worker");
        await Eventually.True(() => LinesOf("web") >= webAfter + 2 * LinesPerReplica && LinesOf("worker") >= workerAfter + LinesPerReplica,
            "the other services' lines to go on", ConvergeTimeout);
        Assert.Equal(apiAtRemoval, LinesOf("api"));
        Assert.False(reading.Ended);

        await DockerCli.RunAsync(endpoint, "stack", "rm", stack.Name);
        await reading.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        var all = reading.Snapshot();
        Assert.Equal($"swarm:{stack.Name}", id);
        Assert.Equal(new[] { "api", "web", "worker" }.Select(stack.ServiceName), all.Select(r => r.Metadata!["service_name"]).Distinct().Order());
        foreach (var task in all.GroupBy(r => r.Metadata!["task_id"]))
        {
            // Every line of every replica exactly once: 1, 2, 3… with none missing or repeated.
            var numbers = Records.AssertContiguousPerRun(task.Select(r => r.Text));
            Assert.Equal(1, Assert.Single(numbers).Numbers[0]);
            var metadata = task.First().Metadata!;
            Assert.Equal(task.Key, metadata["replica_id"]);
            Assert.False(string.IsNullOrEmpty(metadata["node_id"]));
            if (tasks.TryGetValue(task.Key, out var running))
                Assert.Equal((running.Service, running.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture)), (metadata["service_name"], metadata["replica"]));
        }
        Assert.Equal(5, all.Select(r => r.Metadata!["task_id"]).Distinct().Count());
        // The replicas of the services read from the start merged in timestamp order. A service that joins later begins
        // with its backlog, older than lines already passed on (how far depends on how soon its event is seen), so the
        // joiner's lines are left out of the order check; their count and attribution are checked above.
        var initial = all.Where(r => r.Metadata!["service_name"] != stack.ServiceName("worker")).ToList();
        Assert.All(initial.Zip(initial.Skip(1)), pair => Assert.True(pair.First.Timestamp <= pair.Second.Timestamp,
            $"{pair.First.Timestamp} {pair.First.Text} ({pair.First.Metadata!["task_id"]}) came before {pair.Second.Timestamp} {pair.Second.Text} ({pair.Second.Metadata!["task_id"]})"));
    }

    [Fact]
    public async Task ReadAsync_ComposeProjectOfPlainContainersOutsideSwarm_ServedAsComposeStack_AContainerJoins()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var project = DockerCli.UniqueName("compose");
        await using var web1 = await ComposeContainerAsync(endpoint, project, "web", 1);
        await using var web2 = await ComposeContainerAsync(endpoint, project, "web", 2);
        var source = Source();

        var id = await source.ResolveAsync(TestEngines.Second, project, CancellationToken.None);
        var key = new StreamKey(TestEngines.Second, LogSourceType.Stack, id);
        using var reading = new RecordedRead(source.ReadAsync(key, SourceStart.LiveAll(), CancellationToken.None));
        int LinesOf(string container) => reading.Snapshot().Count(r => r.Metadata?.GetValueOrDefault("container_name") == container);
        await Eventually.True(() => LinesOf(web1.Name) >= LinesPerReplica && LinesOf(web2.Name) >= LinesPerReplica, "lines of both containers", ConvergeTimeout);
        await using var db = await ComposeContainerAsync(endpoint, project, "db", 1);
        await Eventually.True(() => LinesOf(db.Name) >= LinesPerReplica / 3, "lines of the container started into the project while streaming", ConvergeTimeout);
        await DockerCli.RunAsync(endpoint, "rm", "-f", web1.Name, web2.Name, db.Name);
        await reading.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal($"compose:{project}", id);
        var all = reading.Snapshot();
        foreach (var (container, service, replica) in new[] { (web1, "web", "1"), (web2, "web", "2"), (db, "db", "1") })
        {
            var lines = all.Where(r => r.Metadata!["container_name"] == container.Name).ToList();
            Assert.Equal(1, Assert.Single(Records.AssertContiguousPerRun(lines.Select(r => r.Text))).Numbers[0]);
            Assert.All(lines, r => Assert.Equal((service, replica, container.Id), (r.Metadata!["service_name"], r.Metadata["replica"], r.Metadata["replica_id"])));
        }
        // The containers read from the start in timestamp order; the one that joined begins with its backlog (above).
        var initial = all.Where(r => r.Metadata!["container_name"] != db.Name).ToList();
        Assert.All(initial.Zip(initial.Skip(1)), pair => Assert.True(pair.First.Timestamp <= pair.Second.Timestamp,
            $"{pair.First.Timestamp} {pair.First.Text} came before {pair.Second.Timestamp} {pair.Second.Text}"));
    }

    [Fact]
    public async Task ReadAsync_ComposeContainerThatStartsAndExitsBetweenTwoListings_ItsLinesAreRead()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var project = DockerCli.UniqueName("compose");
        await using var web = await ComposeContainerAsync(endpoint, project, "web", 1);
        var source = Source();
        var id = await source.ResolveAsync(TestEngines.Second, project, CancellationToken.None);
        using var reading = new RecordedRead(source.ReadAsync(new StreamKey(TestEngines.Second, LogSourceType.Stack, id), SourceStart.LiveAll(), CancellationToken.None));
        await Eventually.True(() => reading.Snapshot().Length >= 3, "the long-running container's lines", ConvergeTimeout);

        // Each writes five lines and exits within milliseconds: by the time its start event makes the project list its
        // containers, it may well have exited already (several, so the race is met).
        var jobs = new List<TestContainer>();
        try
        {
            for (var j = 0; j < Jobs; j++)
            {
                var job = await TestContainer.RunAsync(endpoint, "job", "for i in 1 2 3 4 5; do echo \"n=$i\"; done",
                    "--label", $"com.docker.compose.project={project}",
                    "--label", "com.docker.compose.service=job",
                    "--label", $"com.docker.compose.container-number={j + 1}");
                jobs.Add(job);
            }
            foreach (var job in jobs)
                await job.WaitForExitAsync();
            await Eventually.True(() => jobs.All(job => reading.Snapshot().Count(r => r.Metadata?.GetValueOrDefault("container_name") == job.Name) == 5),
                "the five lines of every container that already exited", ConvergeTimeout);
            foreach (var job in jobs)
                Assert.Equal(["n=1", "n=2", "n=3", "n=4", "n=5"], reading.Snapshot().Where(r => r.Metadata?.GetValueOrDefault("container_name") == job.Name).Select(r => r.Text));
        }
        finally
        {
            foreach (var job in jobs)
                await job.DisposeAsync();
        }
        Assert.False(reading.Ended);
    }

    [Fact]
    public async Task ResolveAsync_UnknownStack_NotFoundOnAManager_NotSupportedInTheDaemonsWordsElsewhere()
    {
        var source = Source();
        var missing = DockerCli.UniqueName("missing");

        var onManager = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Main, missing, CancellationToken.None).AsTask());
        var onWorker = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Worker, missing, CancellationToken.None).AsTask());
        var outside = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Second, missing, CancellationToken.None).AsTask());
        var malformed = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync(TestEngines.Main, "../x", CancellationToken.None).AsTask());

        Assert.Equal((LogSourceErrorKind.NotFound, $"No such stack: {missing}"), (onManager.Kind, onManager.Message));
        Assert.Equal(LogSourceErrorKind.NotSupported, onWorker.Kind);
        Assert.StartsWith("This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.", onWorker.Message, StringComparison.Ordinal);
        Assert.Equal(LogSourceErrorKind.NotSupported, outside.Kind);
        Assert.StartsWith("This node is not a swarm manager. Use \"docker swarm init\"", outside.Message, StringComparison.Ordinal);
        Assert.Contains($"no Compose project '{missing}'", outside.Message, StringComparison.Ordinal);
        Assert.Equal((LogSourceErrorKind.NotFound, "No such stack: ../x"), (malformed.Kind, malformed.Message));
    }

    private static async Task<bool> HasContainersAsync(string service)
    {
        foreach (var engine in new[] { TestEngines.Main, TestEngines.Worker })
        {
            var ids = await DockerCli.RunAsync(TestEngines.Endpoint(engine), "ps", "-aq", "--filter", $"label=com.docker.swarm.service.name={service}");
            if (ids.Trim().Length > 0)
                return true;
        }
        return false;
    }

    public void Dispose()
    {
        _hosts.Dispose();
        _loggers.Dispose();
    }

    /// <summary>A plain container with the labels Compose gives a project's container (as `docker compose up` would).</summary>
    private static Task<TestContainer> ComposeContainerAsync(string endpoint, string project, string service, int number) =>
        TestContainer.RunAsync(endpoint, $"{service}{number}", Numbered,
            "--label", $"com.docker.compose.project={project}",
            "--label", $"com.docker.compose.service={service}",
            "--label", $"com.docker.compose.container-number={number}");

    private StackLogSource Source()
    {
        var options = TestEngines.Options(TestEngines.Main, TestEngines.Worker, TestEngines.Second);
        options.ServiceMergeWindow = MergeWindow;
        return new StackLogSource(_hosts, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, _loggers.CreateLogger<StackLogSource>());
    }

    /// <summary>A source read in the background, every record kept.</summary>
    private sealed class RecordedRead : IDisposable
    {
        private readonly List<SourceRecord> _records = [];
        private readonly CancellationTokenSource _stop = new();

        public RecordedRead(IAsyncEnumerable<SourceRecord> read) =>
            Completion = Task.Run(async () =>
            {
                await foreach (var record in read.WithCancellation(_stop.Token))
                    lock (_records)
                        _records.Add(record);
            });

        public Task Completion { get; }

        public bool Ended => Completion.IsCompleted;

        public SourceRecord[] Snapshot()
        {
            lock (_records)
                return [.. _records];
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }
}
