using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Listing;

/// <summary>
/// The Docker daemon stopped and started while a client watches <c>/ws/hosts/{id}/events</c>. On an engine of its own,
/// started and stopped here, so no other test loses its daemon.
/// </summary>
public sealed class HostEventsRestartTests
{
    private static readonly string Engine = (Environment.GetEnvironmentVariable("LOGS_TEST_ENGINE_PREFIX") ?? "") + "evrestart";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task DaemonRestarts_TheSocketStaysOpen_ToldRetryingResumedAndGap_AndEventsAfterTheRestartArrive()
    {
        // The engines of scripts/test.sh must be there: they are what says dockerd is installed and set up here.
        TestEngines.Endpoint(TestEngines.Main);
        var endpoint = await EngineScript.StartAsync(Engine);
        try
        {
            await EngineScript.ImportImageAsync(Engine);
            await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
            {
                ["Docker:DefaultHost"] = "r",
                ["Docker:Hosts:r:Endpoint"] = endpoint,
                ["Listing:HostTimeout"] = "00:01:00",
                ["Pipeline:RetryInitialBackoff"] = "00:00:00.2",
                ["Pipeline:RetryMaxBackoff"] = "00:00:01",
                ["Pipeline:RetryGiveUpAfter"] = "00:05:00",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            });
            using var socket = await service.ConnectAsync("/ws/hosts/r/events");
            var connected = await WsFrames.NextAsync(socket);
            Assert.Equal("connected", connected!.Value.GetProperty("type").GetString());
            var before = DockerCli.UniqueName("evbefore");
            var beforeId = (await DockerCli.RunAsync(endpoint, "create", "--name", before, DockerCli.Image, "true")).Trim();
            await FramesUntilAsync(socket, f => IsEvent(f, beforeId, "create"));

            await EngineScript.StopAsync(Engine);
            await FramesUntilAsync(socket, f => IsNotice(f, "upstream_retrying"));
            await EngineScript.StartAsync(Engine);
            var after = DockerCli.UniqueName("evafter");
            var afterId = (await DockerCli.RunAsync(endpoint, "create", "--name", after, DockerCli.Image, "true")).Trim();

            var frames = await FramesUntilAsync(socket, f => IsEvent(f, afterId, "create"));
            var resumed = frames.FindIndex(f => IsNotice(f, "upstream_resumed"));
            var gap = frames.FindIndex(f => f.GetProperty("type").GetString() == "gap");
            Assert.True(resumed >= 0, "upstream_resumed before the new event");
            // A restarted daemon has lost its events buffer: continuity cannot be proven, so the client is told.
            Assert.True(gap > resumed, "a gap after upstream_resumed");
            Assert.Equal(-1, frames[gap].GetProperty("missed").GetInt32());
            Assert.Equal("upstream_reopened", frames[gap].GetProperty("reason").GetString());
            Assert.DoesNotContain(frames, f => f.GetProperty("type").GetString() is "error" or "disconnected");
            Assert.Equal(WebSocketState.Open, socket.State);
            await WsFrames.CloseQuietlyAsync(socket);
        }
        finally
        {
            await EngineScript.StopAsync(Engine);
        }
    }

    private static bool IsEvent(JsonElement frame, string id, string action) =>
        frame.GetProperty("type").GetString() == "event" && frame.GetProperty("id").GetString() == id && frame.GetProperty("action").GetString() == action;

    private static bool IsNotice(JsonElement frame, string kind) =>
        frame.GetProperty("type").GetString() == "notice" && frame.GetProperty("kind").GetString() == kind;

    /// <summary>The frames up to and with the first that matches; fails if the socket closes first.</summary>
    private static async Task<List<JsonElement>> FramesUntilAsync(WebSocket socket, Func<JsonElement, bool> last)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            var frame = await WsFrames.NextAsync(socket, Patience)
                ?? throw new InvalidOperationException($"Closed: {socket.CloseStatus} {socket.CloseStatusDescription}; frames {string.Join(", ", frames)}");
            frames.Add(frame);
            if (last(frame))
                return frames;
        }
    }
}
