using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// Filters on the live routes against the real engine and the service as a real process: per client on one shared
/// upstream (daemon connections counted from outside by pid), hostile patterns, refusals before Docker is asked.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class FilterRouteTests : IAsyncLifetime
{
    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await ServiceProcess.StartOnAsync(_endpoint, new Dictionary<string, string>
        {
            ["Pipeline:IdleGrace"] = "00:00:01",
            ["Pipeline:SubscriberQueueEntries"] = "16384",
            // Room for a 10,000-line range in the buffer.
            ["Pipeline:ReplayEntries"] = "20000",
            ["Pipeline:ReplayBytes"] = "67108864",
        });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<int> DaemonConnectionsAsync() => EngineScript.ConnectionsAsync(TestEngines.SocketPath(_endpoint), _service.Pid);

    private async Task<int> SubscribersAsync()
    {
        var streams = (await _service.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray().ToList();
        return streams.Count == 1 ? streams[0].GetProperty("subscribers").GetInt32() : 0;
    }

    [Fact]
    public async Task TwoViewers_FilteredAndNot_ShareOneDaemonConnection_AndGetExactlyTheirLines()
    {
        // 400 numbered lines once the test says go; every fifth says ERROR (capital letters: the lowercase filter
        // matches it because a pattern without capitals is case-insensitive).
        await using var container = await TestContainer.RunAsync(_endpoint, "filter2",
            "while [ ! -e /go ]; do sleep 0.05; done; i=0; while [ $i -lt 400 ]; do i=$((i+1)); " +
            "if [ $((i % 5)) -eq 0 ]; then echo \"n=$i ERROR boom\"; else echo \"n=$i fine\"; fi; sleep 0.005; done; echo \"n=401 error last\"; sleep 1000");
        using var all = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");
        using var errors = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false&filter=error");
        await Eventually.True(async () => await SubscribersAsync() == 2, "both viewers on the one shared stream", interval: TimeSpan.FromMilliseconds(250));
        await DockerCli.RunAsync(_endpoint, "exec", container.Name, "sh", "-c", ": > /go");

        var everyLine = WsFrames.LogsAsync(all, 401, TimeSpan.FromSeconds(90));
        var matching = Collect(errors, 81, TimeSpan.FromSeconds(90));
        Assert.Equal(Enumerable.Range(1, 401).Select(n => (long)n), (await everyLine).Select(WsFrames.Number));
        // The last line is the sentinel: nothing else reached the filtered viewer before it.
        var filtered = await matching;
        Assert.Equal(Enumerable.Range(1, 80).Select(n => n * 5L).Append(401), filtered.Select(WsFrames.Number));
        foreach (var line in filtered.Take(80))
        {
            // "n=5 ERROR boom": the match is the word ERROR, as UTF-16 offsets into message.
            var message = QueryFramesReader.Message(line);
            var match = line.GetProperty("matches").EnumerateArray().Single().EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal("ERROR", message[match[0]..match[1]]);
        }
        // The service also holds the resolve cache's events watch (one long-lived connection per host): both viewers
        // share one log connection when closing them both (after the idle grace) takes away exactly one connection.
        var withViewers = await DaemonConnectionsAsync();
        await WsFrames.CloseQuietlyAsync(all);
        await Eventually.True(async () => await SubscribersAsync() == 1, "the filtered viewer alone", interval: TimeSpan.FromMilliseconds(250));
        Assert.Equal(withViewers, await DaemonConnectionsAsync());
        await WsFrames.CloseQuietlyAsync(errors);
        await Eventually.True(async () => await DaemonConnectionsAsync() == withViewers - 1, $"one log connection for both viewers (of {withViewers})",
            interval: TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task CatastrophicPattern_OnBusyContainer_LeavesOtherViewersAndServerUnaffected()
    {
        // Long lines of a's ending in b (the classic catastrophic input for (a+)+$), and every tenth line all a's (a match).
        const string Script = "a=$(head -c 5000 /dev/zero | tr '\\0' a); i=0; while true; do i=$((i+1)); " +
                              "if [ $((i % 10)) -eq 0 ]; then echo \"$a\"; else echo \"n=$i ${a}b\"; fi; sleep 0.01; done";
        await using var container = await TestContainer.RunAsync(_endpoint, "redos", Script);
        using var hostile = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false&filter={Uri.EscapeDataString("(a+)+$")}");
        using var plain = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false");

        // The plain viewer keeps up: 500 contiguous lines, none of them older than a generous bound when it arrives.
        var maxLag = TimeSpan.Zero;
        long previous = 0;
        var hostileLines = ReadLinesAsync(hostile, 20);
        for (var i = 0; i < 500; i++)
        {
            var frame = (await WsFrames.LogsAsync(plain, 1))[0];
            var text = QueryFramesReader.Message(frame);
            if (!text.StartsWith("n=", StringComparison.Ordinal))
                continue;
            var n = WsFrames.Number(frame);
            Assert.True(previous == 0 || n > previous, $"out of order: {previous} then {n}");
            previous = n;
            var lag = DateTime.UtcNow - DateTime.Parse(frame.GetProperty("timestamp").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
            if (lag > maxLag)
                maxLag = lag;
        }
        Assert.True(maxLag < TimeSpan.FromSeconds(10), $"the plain viewer lagged {maxLag} beside the hostile pattern");

        // The server answers while the hostile viewer reads, and that viewer gets exactly the all-a lines.
        using var http = new HttpClient { BaseAddress = _service.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Assert.True((await http.GetAsync("/healthz")).IsSuccessStatusCode);
        var matched = await hostileLines;
        Assert.All(matched, line => Assert.DoesNotContain('b', QueryFramesReader.Message(line)));
        Assert.All(matched, line => Assert.Equal(5000, QueryFramesReader.Message(line).Length));
        await WsFrames.CloseQuietlyAsync(hostile);
        await WsFrames.CloseQuietlyAsync(plain);
    }

    [Fact]
    public async Task InvalidPattern_IsRefusedWithTheParameterBeforeDockerIsAsked()
    {
        async Task<JsonElement> ErrorOf(string pathAndQuery)
        {
            using var socket = await _service.ConnectAsync(pathAndQuery);
            var frames = await WsFrames.UntilClosedAsync(socket);
            Assert.Equal((WebSocketCloseStatus)4400, socket.CloseStatus);
            return frames.Single(f => f.GetProperty("type").GetString() == "error");
        }

        // No such container: had the server asked Docker first, the code would be not_found.
        var invalid = await ErrorOf("/ws/containers/no-such-container-q/logs?filter=" + Uri.EscapeDataString("(unclosed"));
        Assert.Equal("invalid_parameter", invalid.GetProperty("code").GetString());
        Assert.Equal("filter", invalid.GetProperty("parameter").GetString());
        var backreference = await ErrorOf("/ws/containers/no-such-container-q/logs?exclude=" + Uri.EscapeDataString(@"(a)\1"));
        Assert.Equal("exclude", backreference.GetProperty("parameter").GetString());
        var tooLong = await ErrorOf("/ws/containers/no-such-container-q/logs?filter=" + new string('a', 600));
        Assert.Equal("filter", tooLong.GetProperty("parameter").GetString());
        Assert.Equal("levels", (await ErrorOf("/ws/containers/no-such-container-q/logs?levels=info,loud")).GetProperty("parameter").GetString());
        Assert.Equal("since", (await ErrorOf("/ws/containers/no-such-container-q/logs?since=yesterday")).GetProperty("parameter").GetString());
        Assert.Equal(0, await DaemonConnectionsAsync());
    }

    [Fact]
    public async Task SinceUntil_OverTenThousandLines_IsExactlyTheRange_FromTheBuffer()
    {
        await using var container = await TestContainer.RunAsync(_endpoint, "rangebuf", "seq 1 10000 | sed 's/^/n=/'; sleep 1000");
        List<(string Timestamp, string Text)> lines = [];
        await Eventually.True(async () =>
        {
            var output = await DockerCli.RunAsync(_endpoint, "logs", "-t", container.Name);
            lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (l[..l.IndexOf(' ')], l[(l.IndexOf(' ') + 1)..])).ToList();
            return lines.Count == 10000;
        }, "10,000 lines to be written", interval: TimeSpan.FromMilliseconds(500));
        // A live viewer holds the stream open: its buffer (20,000 lines) holds the whole log.
        using var live = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=1&timestamps=false");
        await WsFrames.LogsAsync(live, 1);
        var since = lines[2000].Timestamp;
        var until = lines[7000].Timestamp;
        var expected = lines.Where(l => string.CompareOrdinal(l.Timestamp, since) >= 0 && string.CompareOrdinal(l.Timestamp, until) <= 0).Select(l => l.Text).ToList();

        using var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?timestamps=false&since={since}&until={until}");
        var received = await QueryFramesReader.UntilCompleteAsync(socket);
        Assert.Equal(expected, received.Select(QueryFramesReader.Message));
        // Served from the replay buffer, as the metric of history requests says.
        using var http = new HttpClient { BaseAddress = _service.BaseUri };
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("logs_history_requests_total{", StringComparison.Ordinal) && l.Contains("origin=\"replay\"", StringComparison.Ordinal) && l.Contains("source=\"container\"", StringComparison.Ordinal));
        await WsFrames.CloseQuietlyAsync(live);
    }

    /// <summary>Log lines until <paramref name="count"/>; on a timeout the failure says what did come.</summary>
    private static async Task<List<JsonElement>> Collect(WebSocket socket, int count, TimeSpan timeout)
    {
        var frames = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (frames.Count(f => f.GetProperty("type").GetString() == "log") < count)
        {
            var left = deadline - DateTime.UtcNow;
            JsonElement? frame = null;
            try
            {
                frame = left > TimeSpan.Zero ? await WsFrames.NextAsync(socket, left) : null;
            }
            catch (OperationCanceledException)
            {
            }
            if (frame is null)
                Assert.Fail($"{frames.Count(f => f.GetProperty("type").GetString() == "log")} lines, not {count}: " +
                            string.Join(" ", frames.Where(f => f.GetProperty("type").GetString() == "log").Select(WsFrames.Number)));
            frames.Add(frame.Value);
        }
        Assert.DoesNotContain(frames, f => f.TryGetProperty("gap", out _));
        return frames.Where(f => f.GetProperty("type").GetString() == "log").ToList();
    }

    /// <summary><paramref name="count"/> log lines, in the background.</summary>
    private static Task<List<JsonElement>> ReadLinesAsync(WebSocket socket, int count) => Task.Run(() => WsFrames.LogsAsync(socket, count, TimeSpan.FromSeconds(120)));
}
