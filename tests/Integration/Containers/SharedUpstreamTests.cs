using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Containers;

/// <summary>
/// Several clients of one followed container through the real <see cref="LogStreamManager"/>: one daemon
/// connection for all of them. Not run in parallel with other tests, whose streams would be counted too.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class SharedUpstreamTests(ITestOutputHelper output)
{
    private const int Subscribers = 3;
    private const int LinesPerCheck = 40;

    [Fact]
    public async Task Subscribe_SeveralSubscribersFollowingAContainer_ShareOneDaemonConnection()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var socket = TestEngines.SocketPath(endpoint);
        var pid = Environment.ProcessId;
        await using var container = await TestContainer.RunAsync(endpoint, "shared",
            "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.01; done");
        await using var host = new PipelineHost(output, PipelineHost.Settings(TestEngines.Main, endpoint));
        var id = await host.Get<LogSourceRegistry>().Get(LogSourceType.Container).ResolveAsync(TestEngines.Main, container.Name, CancellationToken.None);
        var key = new StreamKey(TestEngines.Main, LogSourceType.Container, id);
        var baseline = await EngineScript.ConnectionsAsync(socket, pid);

        var subscriptions = await Task.WhenAll(Enumerable.Range(0, Subscribers).Select(_ =>
            host.Manager.SubscribeAsync(key, new SubscriptionRequest(Tail: 10), CancellationToken.None)));
        try
        {
            var received = subscriptions.Select(_ => new List<string>()).ToArray();
            for (var check = 1; check <= 3; check++)
            {
                await Task.WhenAll(subscriptions.Select((s, i) => ReadEntriesAsync(s, received[i], LinesPerCheck)));
                // The history read's connection closes as the live one opens: wait for that, then it must stay one.
                if (check == 1)
                    await Eventually.True(async () => await EngineScript.ConnectionsAsync(socket, pid) - baseline == 1, "one connection to the daemon");
                Assert.Equal(1, await EngineScript.ConnectionsAsync(socket, pid) - baseline);
            }
            foreach (var texts in received)
            {
                Assert.Equal(LinesPerCheck * 3, texts.Count);
                Records.AssertContiguousPerRun(texts);
            }
            Assert.Equal(Subscribers, Assert.Single(host.Manager.ListStreams()).Subscribers);
        }
        finally
        {
            foreach (var subscription in subscriptions)
                await subscription.DisposeAsync();
        }
        await host.Manager.DisposeAsync();
        await Eventually.True(async () => await EngineScript.ConnectionsAsync(socket, pid) == baseline, "the daemon connection closed");
    }

    private static async Task ReadEntriesAsync(LogSubscription subscription, List<string> texts, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var target = texts.Count + count;
        while (texts.Count < target && await subscription.WaitToReadAsync(timeout.Token))
        {
            while (texts.Count < target && subscription.TryRead(out var e))
            {
                Assert.NotEqual(StreamEventKind.Gap, e.Kind);
                if (e.Kind == StreamEventKind.Entry)
                    texts.Add(e.Entry!.Text);
            }
        }
        Assert.Equal(target, texts.Count);
    }
}
