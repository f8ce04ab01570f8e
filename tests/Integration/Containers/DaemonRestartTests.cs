using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Containers;

/// <summary>
/// The Docker daemon itself stopped and started under a followed container. Runs on an engine of its own,
/// started and stopped here, so no other test loses its daemon.
/// </summary>
public sealed class DaemonRestartTests(ITestOutputHelper output)
{
    private const string Engine = "restarttest";
    private const int Subscribers = 2;
    private const int LinesPerRun = 20;
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Subscribe_DaemonStoppedAndStarted_SubscribersToldAndLinesContinueWithoutRepeats()
    {
        // The engines of scripts/test.sh must be there: they are what says dockerd is installed and set up here.
        TestEngines.Endpoint(TestEngines.Main);
        var endpoint = await EngineScript.StartAsync(Engine);
        try
        {
            await EngineScript.ImportImageAsync(Engine);
            // The engine is this test's alone: a restart-always container left by an interrupted run would come back.
            foreach (var leftover in (await DockerCli.RunAsync(endpoint, "ps", "-aq")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                await DockerCli.TryRunAsync(endpoint, "rm", "-f", leftover);
            await RunAsync(endpoint);
        }
        finally
        {
            await EngineScript.StopAsync(Engine);
        }
    }

    private async Task RunAsync(string endpoint)
    {
        await using var container = await TestContainer.RunAsync(endpoint, "daemon",
            "r=$RANDOM$RANDOM; i=0; while true; do i=$((i+1)); echo \"run=$r n=$i\"; sleep 0.05; done", "--restart", "always");
        await using var host = new PipelineHost(output, PipelineHost.Settings(Engine, endpoint,
            ("Pipeline:RetryInitialBackoff", "00:00:00.2"),
            ("Pipeline:RetryMaxBackoff", "00:00:01"),
            // Long enough to cover the daemon's own shutdown after it stopped the container: the stream must then
            // fail (and be retried), not end because the container stayed stopped.
            ("Docker:RestartGrace", "00:01:00")));
        var key = new StreamKey(Engine, LogSourceType.Container, container.Id);
        var clients = new List<RecordingSubscriber>();
        for (var i = 0; i < Subscribers; i++)
            clients.Add(new RecordingSubscriber(await host.Manager.SubscribeAsync(key, new SubscriptionRequest(Tail: 5), CancellationToken.None)));
        try
        {
            await Eventually.True(() => clients.All(c => c.Texts.Count >= LinesPerRun), "lines before the daemon stops");

            await EngineScript.StopAsync(Engine);
            await Eventually.True(() => clients.All(c => c.Has(StreamNoticeKind.UpstreamRetrying)), "UpstreamRetrying for every subscriber", EngineTimeout);
            await EngineScript.StartAsync(Engine);

            await Eventually.True(() => clients.All(c => c.Has(StreamNoticeKind.UpstreamResumed)), "UpstreamResumed for every subscriber", EngineTimeout);
            await Eventually.True(() => clients.All(c => Records.AssertContiguousPerRun(c.Texts.ToArray()) is { Count: >= 2 } runs && runs[^1].Numbers.Count >= LinesPerRun),
                "lines of the container's run after the daemon restart", EngineTimeout);

            foreach (var client in clients)
            {
                Assert.False(client.Reading.IsCompleted, "A subscriber was dropped.");
                Assert.True(client.NoticeIndex(StreamNoticeKind.UpstreamRetrying) < client.NoticeIndex(StreamNoticeKind.UpstreamResumed));
                var texts = client.Texts.ToArray();
                Assert.Equal(texts.Length, texts.Distinct().Count());
                var runs = Records.AssertContiguousPerRun(texts);
                // The daemon restarted the container: a new run, numbered from 1.
                Assert.Equal(1, runs[^1].Numbers[0]);
            }
            // One upstream for both: the lines both received carry the same sequence numbers, and each saw no gap.
            var first = clients[0].Entries.ToDictionary(e => e.Sequence, e => e.Text);
            var common = clients[1].Entries.Where(e => first.ContainsKey(e.Sequence)).ToList();
            Assert.True(common.Count >= LinesPerRun * 2, $"Only {common.Count} lines in common.");
            Assert.All(common, e => Assert.Equal(first[e.Sequence], e.Text));
            foreach (var client in clients)
                output.WriteLine($"gaps: {string.Join("; ", client.Gaps)}");
            Assert.All(clients, c => Assert.Equal(c.Entries.Count - 1, c.Entries[^1].Sequence - c.Entries[0].Sequence));
        }
        finally
        {
            foreach (var client in clients)
                await client.DisposeAsync();
        }
    }
}
