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
    private const string StallTimeout = "00:00:20";
    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await ServiceProcess.StartOnAsync(_endpoint, new Dictionary<string, string>
        {
            ["Pipeline:IdleGrace"] = "00:00:01",
            // Long against the lag a healthy client may show on a loaded machine, so that a client held up by a
            // stuck one (it would wait about this long) cannot be mistaken for a slow machine, and the reverse.
            ["Pipeline:StallTimeout"] = StallTimeout,
            // Room for a few seconds of the fast writer below: a healthy client that a loaded machine slows for a
            // moment catches up instead of being told it fell behind.
            ["Pipeline:SubscriberQueueEntries"] = "16384",
        });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    /// <summary>Subscribers of the one shared stream the service holds (0 when it holds none yet).</summary>
    private async Task<int> SubscribersAsync()
    {
        var streams = (await _service.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray().ToList();
        return streams.Count == 1 ? streams[0].GetProperty("subscribers").GetInt32() : 0;
    }

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

            // Measured from outside the pipeline: the service process's sockets to the daemon. The history read's
            // connection closes as the live one opens: wait for that, then it must stay one.
            await Eventually.True(async () => await DaemonConnectionsAsync() == 1, "one daemon connection for fifty clients", interval: TimeSpan.FromMilliseconds(250));
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
        await Eventually.True(async () => await DaemonConnectionsAsync() == 0, "the upstream to close after the idle grace", interval: TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task LateJoiner_GetsTailFromReplayThenLiveWithoutGapOrDuplicate()
    {
        // 40 lines, then nothing until the test says go: the history a late joiner must get is known exactly,
        // whatever the time its connection takes.
        await using var container = await TestContainer.RunAsync(_endpoint, "late",
            "i=0; while true; do i=$((i+1)); echo \"n=$i\"; if [ $i -eq 40 ]; then while [ ! -e /go ]; do sleep 0.05; done; fi; sleep 0.02; done");
        using var first = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=100&timestamps=false");
        Assert.Equal(Enumerable.Range(1, 40).Select(n => (long)n), (await WsFrames.LogsAsync(first, 40)).Select(WsFrames.Number));

        using var late = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=10&timestamps=false");
        var history = await WsFrames.LogsAsync(late, 10);
        await DockerCli.RunAsync(_endpoint, "exec", container.Name, "sh", "-c", ": > /go");
        var live = await WsFrames.LogsAsync(late, 50);

        // Its first ten lines are the last ten written before it joined (the shared stream's replay), then live.
        Assert.Equal(Enumerable.Range(31, 60).Select(n => (long)n), history.Concat(live).Select(WsFrames.Number));
        await Eventually.True(async () => await DaemonConnectionsAsync() == 1, "one daemon connection for both", interval: TimeSpan.FromMilliseconds(250));
        Assert.Equal(1, await DaemonConnectionsAsync());
        await WsFrames.CloseQuietlyAsync(first);
        await WsFrames.CloseQuietlyAsync(late);
    }

    [Fact]
    public async Task ClientThatStopsReading_DoesNotDelayOthersAndIsClosedAsStalled()
    {
        // Up to about 1 MB/s of 1 KB lines: a stuck client's socket buffers fill in a few seconds, and a loaded machine
        // still reads it all (at 4 MB/s, with other suites running, the service fell behind the writer on its own).
        const string Fast = "pad=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; while true; do j=0; while [ $j -lt 10 ]; do i=$((i+1)); j=$((j+1)); echo \"n=$i $pad\"; done; sleep 0.01; done";
        await using var container = await TestContainer.RunAsync(_endpoint, "stuck", Fast);
        using var stuck = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");
        var healthy = new List<ClientWebSocket>();
        for (var i = 0; i < 3; i++)
            healthy.Add(await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false"));

        // The healthy clients read until the server has closed the stuck one (the stall timeout after its socket and
        // queue filled), with no gap and no repeat. Had the stuck client held them up, they would have waited about
        // the stall timeout; a slow machine makes them lag by far less.
        var stuckClosed = Task.Run(async () =>
        {
            var poll = TimeSpan.FromMilliseconds(500);
            await Eventually.True(async () => await SubscribersAsync() == 4, "the four clients to attach", interval: poll);
            await Eventually.True(async () => await SubscribersAsync() == 3, "the server to close the stuck client as stalled", TimeSpan.FromSeconds(90), poll);
        });
        var readers = healthy.Select(async socket =>
        {
            var maxLag = TimeSpan.Zero;
            long previous = 0, count = 0;
            while (!stuckClosed.IsCompleted)
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
        await stuckClosed;
        var limit = TimeSpan.Parse(StallTimeout, System.Globalization.CultureInfo.InvariantCulture) / 2;
        Assert.All(results, r => Assert.True(r.maxLag < limit, $"a healthy client lagged {r.maxLag}: held up by the stuck one?"));
        Assert.All(results, r => Assert.True(r.count > 1000, $"a healthy client got only {r.count} lines"));

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
            await Eventually.True(async () => await DaemonConnectionsAsync() == 5, "one daemon connection per legacy client", interval: TimeSpan.FromMilliseconds(250));
            foreach (var socket in legacy)
                await WsFrames.CloseQuietlyAsync(socket);
            await Eventually.True(async () => await DaemonConnectionsAsync() == 0, "legacy upstreams to close with their clients", interval: TimeSpan.FromMilliseconds(250));

            await SetPathAsync("container", unified: true);
            var unified = new List<ClientWebSocket>();
            for (var i = 0; i < 5; i++)
            {
                var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=1&timestamps=false");
                await WsFrames.LogsAsync(socket, 1);
                unified.Add(socket);
            }
            // The history read's connection closes as the live one opens: wait for that, then it must stay one.
            await Eventually.True(async () => await DaemonConnectionsAsync() == 1, "one daemon connection for the unified clients", interval: TimeSpan.FromMilliseconds(250));
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
        // The lookups that refused them close their connections as they end: wait for that.
        await Eventually.True(async () => await DaemonConnectionsAsync() == 0, "no daemon connection left", interval: TimeSpan.FromMilliseconds(250));
        Assert.Empty((await _service.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray());
    }
}
