using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// The contract of a transient upstream fault as the browser sees it: the Docker daemon stopped and started under a
/// followed container, with the service as a real process. Runs on an engine of its own, started and stopped here.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class TransientNoticeTests
{
    private const string Engine = "apinoticetest";
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task DaemonStoppedAndStarted_ClientGetsWarningLogNoticesNoErrorAndLinesContinue()
    {
        // The engines of scripts/test.sh must be there: they are what says dockerd is installed and set up here.
        TestEngines.Endpoint(TestEngines.Main);
        var endpoint = await EngineScript.StartAsync(Engine);
        try
        {
            await EngineScript.ImportImageAsync(Engine);
            foreach (var leftover in (await DockerCli.RunAsync(endpoint, "ps", "-aq")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                await DockerCli.TryRunAsync(endpoint, "rm", "-f", leftover);
            await RunAsync(endpoint);
        }
        finally
        {
            await EngineScript.StopAsync(Engine);
        }
    }

    private static async Task RunAsync(string endpoint)
    {
        await using var container = await TestContainer.RunAsync(endpoint, "notice",
            "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.05; done", "--restart", "always");
        await using var service = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            ["Pipeline:RetryInitialBackoff"] = "00:00:00.2",
            ["Pipeline:RetryMaxBackoff"] = "00:00:01",
            // The stream must fail (and be retried) while the daemon stops, not end because the container stopped.
            ["Docker:RestartGrace"] = "00:01:00",
        });
        using var socket = await service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");
        await WsFrames.LogsAsync(socket, 10);

        await EngineScript.StopAsync(Engine);
        var retrying = await NextNoticeAsync(socket, "upstream_retrying");
        await EngineScript.StartAsync(Engine);
        var resumed = await NextNoticeAsync(socket, "upstream_resumed");
        // Lines flow again on the same socket: the session never ended.
        var after = await WsFrames.LogsAsync(socket, 10, EngineTimeout);
        Assert.Equal(10, after.Count);
        Assert.Equal(WebSocketState.Open, socket.State);

        foreach (var notice in new[] { retrying, resumed })
        {
            Assert.Equal("log", notice.GetProperty("type").GetString());
            Assert.Equal("warning", notice.GetProperty("level").GetString());
            Assert.StartsWith("[logs] ", notice.GetProperty("data").GetString());
        }
        await WsFrames.CloseQuietlyAsync(socket);
    }

    /// <summary>Skips lines and heartbeats up to the notice of <paramref name="kind"/>; any other frame (an error) fails.</summary>
    private static async Task<JsonElement> NextNoticeAsync(WebSocket socket, string kind)
    {
        var deadline = DateTime.UtcNow + EngineTimeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"No {kind} notice in time.");
            var frame = await WsFrames.NextAsync(socket, left) ?? throw new InvalidOperationException($"Closed before {kind}: {socket.CloseStatus} {socket.CloseStatusDescription}");
            var type = frame.GetProperty("type").GetString();
            if (type == "log" && frame.TryGetProperty("notice", out var notice))
            {
                Assert.Equal(kind, notice.GetProperty("kind").GetString());
                return frame;
            }
            Assert.True(type is "log" or "heartbeat", $"Unexpected frame while waiting for {kind}: {frame}");
        }
    }
}
