using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// The service as a real process against the real engine, driven by real WebSocket clients. In the sequential
/// collection because they count the service's daemon connections and load the machine.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class EndToEndTests : IAsyncLifetime
{
    private const string Counter = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.02; done";
    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await ServiceProcess.StartOnAsync(_endpoint, new Dictionary<string, string>
        {
            ["Pipeline:IdleGrace"] = "00:00:01",
            ["Pipeline:StallTimeout"] = "00:00:03",
        });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<int> DaemonConnectionsAsync() => EngineScript.ConnectionsAsync(TestEngines.SocketPath(_endpoint), _service.Pid);

    private async Task SetPathAsync(string endpoint, bool? unified)
    {
        using var http = _service.AdminClient();
        var response = await http.PutAsJsonAsync($"/admin/flags/{endpoint}", new { unified });
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task FiftyClients_ReceiveSameContiguousLines_OverOneDaemonConnection()
    {
        await using var container = await TestContainer.RunAsync(_endpoint, "fifty", Counter);
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 50; i++)
                sockets.Add(await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false"));
            var received = await Task.WhenAll(sockets.Select(s => WsFrames.LogsAsync(s, 100)));

            // Measured from outside the pipeline: the service process's sockets to the daemon.
            Assert.Equal(1, await DaemonConnectionsAsync());
            foreach (var lines in received)
            {
                var numbers = lines.Select(WsFrames.Number).ToArray();
                Assert.Equal(Enumerable.Range((int)numbers[0], 100).Select(n => (long)n), numbers);
            }
            // Every client saw the same line under the same sequence number.
            var bySeq = received.SelectMany(l => l).GroupBy(f => f.GetProperty("seq").GetInt64());
            Assert.All(bySeq, g => Assert.Single(g.Select(f => f.GetProperty("message").GetString()).Distinct()));
        }
        finally
        {
            foreach (var socket in sockets)
                await WsFrames.CloseQuietlyAsync(socket);
        }
        await Eventually.True(async () => await DaemonConnectionsAsync() == 0, "the upstream to close after the idle grace");
    }

    [Fact]
    public async Task LateJoiner_GetsTailFromReplayThenLiveWithoutGapOrDuplicate()
    {
        await using var container = await TestContainer.RunAsync(_endpoint, "late", Counter);
        using var first = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");
        var early = await WsFrames.LogsAsync(first, 40);
        using var late = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=10&timestamps=false");
        var lines = await WsFrames.LogsAsync(late, 60);
        var numbers = lines.Select(WsFrames.Number).ToArray();
        Assert.Equal(Enumerable.Range((int)numbers[0], 60).Select(n => (long)n), numbers);
        // Its first ten lines are history: written before it joined.
        Assert.True(numbers[9] <= WsFrames.Number(early[^1]) + 5, $"the tail should come from before the join: {string.Join(",", numbers.Take(12))}");
        Assert.Equal(1, await DaemonConnectionsAsync());
        await WsFrames.CloseQuietlyAsync(first);
        await WsFrames.CloseQuietlyAsync(late);
    }

    [Fact]
    public async Task ClientThatStopsReading_DoesNotDelayOthersAndIsClosedAsStalled()
    {
        // About 4 MB/s of 1 KB lines: enough to fill a stuck client's socket buffers and queue in a few seconds.
        const string Fast = "pad=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; while true; do j=0; while [ $j -lt 40 ]; do i=$((i+1)); j=$((j+1)); echo \"n=$i $pad\"; done; sleep 0.01; done";
        await using var container = await TestContainer.RunAsync(_endpoint, "stuck", Fast);
        using var stuck = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");
        var healthy = new List<ClientWebSocket>();
        for (var i = 0; i < 3; i++)
            healthy.Add(await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false"));

        // The healthy clients read 12 s of lines (well past the 3 s stall timeout) with no gap and little lag.
        var readers = healthy.Select(async socket =>
        {
            var maxLag = TimeSpan.Zero;
            long previous = 0, count = 0;
            var until = DateTime.UtcNow.AddSeconds(12);
            while (DateTime.UtcNow < until)
            {
                var frame = (await WsFrames.LogsAsync(socket, 1))[0];
                var n = WsFrames.Number(frame);
                Assert.True(previous == 0 || n == previous + 1, $"gap or repeat: {previous} then {n}");
                previous = n;
                count++;
                var lag = DateTime.UtcNow - DateTime.Parse(frame.GetProperty("timestamp").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
                if (lag > maxLag)
                    maxLag = lag;
            }
            return (count, maxLag);
        }).ToArray();
        var results = await Task.WhenAll(readers);
        Assert.All(results, r => Assert.True(r.maxLag < TimeSpan.FromSeconds(2), $"a healthy client lagged {r.maxLag}"));
        Assert.All(results, r => Assert.True(r.count > 1000, $"a healthy client got only {r.count} lines"));

        // The stuck client was closed by the server: only the three healthy subscribers remain.
        var streams = await _service.AdminGetAsync("/admin/streams");
        var stream = streams.GetProperty("streams").EnumerateArray().Single();
        Assert.Equal(3, stream.GetProperty("subscribers").GetInt32());
        foreach (var socket in healthy)
            await WsFrames.CloseQuietlyAsync(socket);
        stuck.Abort();
    }

    [Fact]
    public async Task LegacyPathHoldsOneDaemonStreamPerClient_UnifiedOne()
    {
        await using var container = await TestContainer.RunAsync(_endpoint, "paths", Counter);
        try
        {
            await SetPathAsync("container", unified: false);
            var legacy = new List<ClientWebSocket>();
            for (var i = 0; i < 5; i++)
            {
                var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=1&timestamps=false");
                await WsFrames.LogsAsync(socket, 1);
                legacy.Add(socket);
            }
            Assert.Equal(5, await DaemonConnectionsAsync());
            foreach (var socket in legacy)
                await WsFrames.CloseQuietlyAsync(socket);
            await Eventually.True(async () => await DaemonConnectionsAsync() == 0, "legacy upstreams to close with their clients");

            await SetPathAsync("container", unified: true);
            var unified = new List<ClientWebSocket>();
            for (var i = 0; i < 5; i++)
            {
                var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=1&timestamps=false");
                await WsFrames.LogsAsync(socket, 1);
                unified.Add(socket);
            }
            Assert.Equal(1, await DaemonConnectionsAsync());
            foreach (var socket in unified)
                await WsFrames.CloseQuietlyAsync(socket);
        }
        finally
        {
            await SetPathAsync("container", unified: null);
        }
    }

    [Fact]
    public async Task BadInput_ClosesWithDocumentedCodesAndLeavesNoUpstream()
    {
        async Task<(string? Code, WebSocketCloseStatus? Status)> Refusal(string pathAndQuery, string? token = null)
        {
            using var socket = await _service.ConnectAsync(pathAndQuery, token);
            var frames = await WsFrames.UntilClosedAsync(socket);
            var error = frames.LastOrDefault(f => f.GetProperty("type").GetString() == "error");
            return (error.ValueKind == JsonValueKind.Object ? error.GetProperty("code").GetString() : null, socket.CloseStatus);
        }

        Assert.Equal(("not_found", (WebSocketCloseStatus)4404), await Refusal("/ws/containers/no-such-container-here/logs"));
        Assert.Equal(("invalid_parameter", (WebSocketCloseStatus)4400), await Refusal("/ws/containers/x/logs?tail=-3"));
        Assert.Equal(("unknown_host", (WebSocketCloseStatus)4404), await Refusal("/ws/containers/x/logs?host_id=mars"));
        Assert.Equal(("token_invalid", (WebSocketCloseStatus)1008), await Refusal("/ws/containers/x/logs", "nonsense"));
        Assert.Equal(0, await DaemonConnectionsAsync());
        Assert.Empty((await _service.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray());
    }
}
