using System.Globalization;
using LogsMigration.Docker;
using LogsMigration.Docker.Services;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Services;

/// <summary>
/// Engines of a swarm going down under a service's logs, on a swarm of the tests' own (<see cref="PrivateSwarm"/>):
/// a manager losing its quorum while the other manager restarts, and a worker that stops.
/// </summary>
public sealed class SwarmOutageTests(PrivateSwarm swarm, ITestOutputHelper output) : IClassFixture<PrivateSwarm>, IDisposable
{
    private const string HostId = "swarm";
    private const string Numbered = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.1; done";
    private const int Replicas = 2;
    private const int Lines = 20;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(90);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));

    [Fact]
    public async Task Subscribe_OtherManagerDownSoTheSwarmHasNoLeader_OnlyRetriedAndEveryLineOnceWhenItHasOneAgain()
    {
        // The tasks run on the manager that is read, so only the control plane goes away, never the containers.
        var node = await swarm.NodeIdAsync(swarm.ManagerEndpoint);
        await using var service = await CreateServiceAsync(swarm.ManagerEndpoint, "noleader", node);
        await using var host = new PipelineHost(output, PipelineHost.Settings(HostId, swarm.ManagerEndpoint,
            ("Pipeline:RetryInitialBackoff", "00:00:00.2"),
            ("Pipeline:RetryMaxBackoff", "00:00:01"),
            ("Pipeline:RetryGiveUpAfter", "00:05:00")));
        var key = new StreamKey(HostId, LogSourceType.Service, service.Id);
        await using var client = new RecordingSubscriber(await host.Manager.SubscribeAsync(key, new SubscriptionRequest(Tail: 5), CancellationToken.None));
        await Eventually.True(() => client.LinesPerTask().Count == Replicas && client.LinesPerTask().Values.All(n => n.Count >= Lines), "lines of both replicas");

        await swarm.KillAsync(swarm.SecondManager);
        try
        {
            // One manager of two: no quorum, so the swarm has no leader. The daemon says so to every control call.
            await Eventually.True(async () => (await DockerCli.TryRunAsync(swarm.ManagerEndpoint, "node", "ls")).Error.Contains("does not have a leader", StringComparison.Ordinal),
                "the manager to report that the swarm has no leader", Outage);
            var seen = client.Entries.Count;
            // Either the stream goes on, or the stream is retried while there is no leader; never an end.
            await Eventually.True(() => client.Reading.IsCompleted || client.Has(StreamNoticeKind.UpstreamRetrying) || client.Entries.Count >= seen + Lines,
                "the stream to be retried (or to go on) while the swarm has no leader", Outage);
            Assert.False(client.Reading.IsCompleted, $"The subscription ended while the swarm had no leader: {client.Reading.Exception?.InnerException?.Message}");
        }
        finally
        {
            await swarm.StartAsync(swarm.SecondManager);
        }
        await Eventually.True(async () => (await DockerCli.TryRunAsync(swarm.ManagerEndpoint, "node", "ls")).ExitCode == 0, "a leader again", Outage);
        var before = client.LinesPerTask();
        await Eventually.True(() => client.LinesPerTask().All(t => t.Value.Count >= (before.GetValueOrDefault(t.Key)?.Count ?? 0) + Lines), "lines after the swarm has a leader again", Outage);

        Assert.False(client.Reading.IsCompleted, $"The subscription ended: {client.Reading.Exception?.InnerException?.Message}");
        output.WriteLine($"Notices: {string.Join(", ", client.Notices())}");
        // Every line of each replica once, in order, across the outage; Docker itself may drop lines of a stream it
        // breaks ("Error grabbing logs: … context canceled" when a manager goes), but then only behind its marker.
        output.WriteLine($"Gaps: {string.Join(" | ", client.Gaps)}");
        client.AssertEachTaskContiguousOrBehindAMarker();
        if (client.Has(StreamNoticeKind.UpstreamRetrying))
            Assert.True(client.Has(StreamNoticeKind.UpstreamResumed), "Retried but never told the stream resumed.");
    }

    /// <summary>
    /// What dockerd 20.10 sends about a node it cannot reach: a follow stream simply gets no more lines from that
    /// node (no frame at all: the daemon does not say it), but a read opened while the node is down gets one error
    /// frame, "Error grabbing logs: rpc error: code = Unknown desc = warning: incomplete log stream. some logs could
    /// not be retrieved for the following reasons: node … is not available", which becomes a marker record.
    /// </summary>
    [Fact]
    public async Task ReadAsync_WorkerOfATaskStopped_IncompleteMarkerWithTheDaemonsMessage()
    {
        var node = await swarm.NodeIdAsync(swarm.WorkerEndpoint);
        await using var service = await CreateServiceAsync(swarm.ManagerEndpoint, "nodedown", node);
        var source = Source();
        var key = new StreamKey(HostId, LogSourceType.Service, service.Id);
        await Eventually.True(async () => (await Records.ReadAllAsync(source.ReadAsync(key, SourceStart.History(5), CancellationToken.None))).Count(r => r.Incomplete is null) >= Replicas * 5,
            "lines of both replicas", Outage);

        await swarm.KillAsync(swarm.Worker);
        try
        {
            await Eventually.True(async () => (await DockerCli.RunAsync(swarm.ManagerEndpoint, "node", "inspect", "--format", "{{.Status.State}}", node)).Trim() == "down",
                "the worker's node to be down", Outage);

            var records = await Records.ReadAllAsync(source.ReadAsync(key, SourceStart.History(5), CancellationToken.None));

            var marker = Assert.Single(records, r => r.Incomplete is not null);
            Assert.StartsWith("Error grabbing logs: ", marker.Incomplete, StringComparison.Ordinal);
            Assert.Contains("incomplete log stream", marker.Incomplete, StringComparison.Ordinal);
            Assert.Contains($"node {node} is not available", marker.Incomplete, StringComparison.Ordinal);
            Assert.True(marker.TimestampIsReceiveTime);
        }
        finally
        {
            await swarm.StartAsync(swarm.Worker);
        }
    }

    public void Dispose() => _loggers.Dispose();

    private static async Task<TestService> CreateServiceAsync(string endpoint, string purpose, string nodeId)
    {
        var name = DockerCli.UniqueName(purpose);
        await DockerCli.RunAsync(endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", Replicas.ToString(CultureInfo.InvariantCulture),
            "--constraint", $"node.id=={nodeId}", "--no-resolve-image", "--stop-grace-period", "1s", DockerCli.Image, "sh", "-c", Numbered);
        var service = await TestService.FromNameAsync(endpoint, name);
        await Eventually.True(async () => (await service.RunningTasksAsync()).Count == Replicas, "running replicas", Outage);
        return service;
    }

    private ServiceLogSource Source()
    {
        var options = new DockerOptions { DefaultHost = HostId };
        options.Hosts[HostId] = new DockerHostOptions { Endpoint = swarm.ManagerEndpoint };
        var monitor = Microsoft.Extensions.Options.Options.Create(options);
        return new ServiceLogSource(new DockerHosts(monitor), monitor, TimeProvider.System, _loggers.CreateLogger<ServiceLogSource>());
    }
}
