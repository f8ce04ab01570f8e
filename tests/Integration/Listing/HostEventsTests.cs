using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Listing;

/// <summary>The <c>/ws/hosts/{id}/events</c> feed against a real engine: 20 clients, one Docker events stream.</summary>
public sealed class HostEventsTests(ListingService api) : IClassFixture<ListingService>
{
    private const int Clients = 20;
    private static readonly string Main = TestEngines.Endpoint(TestEngines.Main);

    [Fact]
    public async Task TwentyClients_SeeAContainerStartedAndRemoved_ThroughOneDockerEventsStream()
    {
        var sockets = new List<ClientWebSocket>();
        var name = DockerCli.UniqueName("events");
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                var socket = await api.Service.ConnectAsync("/ws/hosts/main/events");
                sockets.Add(socket);
                var connected = await WsFrames.NextAsync(socket);
                Assert.Equal("connected", connected!.Value.GetProperty("type").GetString());
                Assert.Equal("main", connected.Value.GetProperty("host_id").GetString());
            }
            // Seen from the daemon's side: one or two connections of the service for 20 clients (the events stream, and
            // maybe the pooled one the opening pings reused); a stream per client would hold 20 open.
            await Eventually.True(async () => await EngineScript.ConnectionsAsync(TestEngines.SocketPath(Main), api.Service.Pid) is >= 1 and <= 2,
                "the service holds one or two connections to the daemon", interval: TimeSpan.FromMilliseconds(500));
            var feed = await MainFeedAsync();
            Assert.Equal(Clients, feed.GetProperty("subscribers").GetInt32());
            Assert.Equal(1, feed.GetProperty("upstream_opens").GetInt64());

            var id = (await DockerCli.RunAsync(Main, "run", "-d", "--name", name, DockerCli.Image, "sleep", "300")).Trim();
            await DockerCli.RunAsync(Main, "rm", "-f", name);

            foreach (var socket in sockets)
            {
                var actions = await ActionsUntilDestroyedAsync(socket, id);
                Assert.Equal(["create", "start", "destroy"], actions.Where(a => a.Action is "create" or "start" or "destroy").Select(a => a.Action));
                Assert.All(actions, a => Assert.Equal(name, a.Name));
                Assert.Equal("running", actions.Single(a => a.Action == "start").State);
                Assert.Equal("removed", actions.Single(a => a.Action == "destroy").State);
            }
            Assert.Equal(1, (await MainFeedAsync()).GetProperty("upstream_opens").GetInt64());
        }
        finally
        {
            await DockerCli.TryRunAsync(Main, "rm", "-f", name);
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task UnknownHost_IsRefusedInBand_WithNotFoundAnd4404()
    {
        using var socket = await api.Service.ConnectAsync("/ws/hosts/nope/events");
        var frames = await WsFrames.UntilClosedAsync(socket);
        var error = Assert.Single(frames);
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal((WebSocketCloseStatus)4404, socket.CloseStatus);
    }

    [Fact]
    public async Task HostThatIsDown_IsRefusedWithUpstreamUnavailableAnd4503()
    {
        using var socket = await api.Service.ConnectAsync("/ws/hosts/down/events");
        var frames = await WsFrames.UntilClosedAsync(socket);
        var error = Assert.Single(frames);
        Assert.Equal("upstream_unavailable", error.GetProperty("code").GetString());
        Assert.Equal((WebSocketCloseStatus)4503, socket.CloseStatus);
    }

    private async Task<JsonElement> MainFeedAsync()
    {
        using var http = api.Service.AdminClient();
        var streams = JsonDocument.Parse(await http.GetStringAsync("/admin/streams")).RootElement;
        return streams.GetProperty("event_feeds").EnumerateArray().Single(f => f.GetProperty("host_id").GetString() == "main").Clone();
    }

    /// <summary>This container's events, in order, until its <c>destroy</c>; other tests' events on the engine are skipped.</summary>
    private static async Task<List<(string Action, string? Name, string? State)>> ActionsUntilDestroyedAsync(WebSocket socket, string id)
    {
        var actions = new List<(string, string?, string?)>();
        while (true)
        {
            var frame = await WsFrames.NextAsync(socket) ?? throw new InvalidOperationException($"Closed before the destroy of {id}: {socket.CloseStatus} {socket.CloseStatusDescription}");
            var type = frame.GetProperty("type").GetString();
            Assert.True(type is "event" or "heartbeat", $"unexpected frame {frame}");
            if (type != "event" || frame.GetProperty("kind").GetString() != "container" || frame.GetProperty("id").GetString() != id)
                continue;
            var action = frame.GetProperty("action").GetString()!;
            Assert.True(DateTimeOffset.TryParse(frame.GetProperty("timestamp").GetString(), out _));
            actions.Add((action, frame.GetProperty("name").GetString(), frame.TryGetProperty("state", out var state) ? state.GetString() : null));
            if (action == "destroy")
                return actions;
        }
    }
}
