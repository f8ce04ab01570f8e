using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>How sessions end and what they are told on the way: transient notices, the server's stop, drains.</summary>
public sealed class SessionLifecycleTests
{
    private static string Viewer => ApiFactory.Token();

    [Theory]
    [InlineData("line")]
    [InlineData("batch")]
    public async Task TransientUpstreamFault_NoticesAreWarningLogFramesNotErrors_AndTheStreamGoesOn(string format)
    {
        await using var api = new ApiFactory(s => s["Pipeline:RetryInitialBackoff"] = "00:00:00.050");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0&timestamps=false&format={format}");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 1, "the subscriber to attach");
        api.Containers.Write("before");
        Assert.Equal(["before"], Lines(await Frames.Next(socket)));

        api.Containers.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection refused"));
        var retrying = await NextNotice(socket);
        // The stream counts as resumed once a new line came through the reopened read, which this one brings.
        api.Containers.Write("after");
        var resumed = await NextNotice(socket);
        JsonElement next;
        while ((next = (await Frames.Next(socket))!.Value).Type() == "heartbeat")
        {
        }
        Assert.Equal(["after"], Lines(next));

        Assert.Equal("upstream_retrying", retrying.GetProperty("notice").Str("kind"));
        Assert.Equal("upstream_resumed", resumed.GetProperty("notice").Str("kind"));
        foreach (var notice in new[] { retrying, resumed })
        {
            // What the old views read from a line: a log frame at warning whose text says what happened.
            Assert.Equal("log", notice.Type());
            Assert.Equal("warning", notice.Str("level"));
            Assert.StartsWith("[logs] ", notice.Str("data"));
            Assert.Equal(notice.Str("data"), notice.Str("message"));
            Assert.Equal("web-1", notice.Str("source_id"));
            Assert.Equal(notice.GetProperty("notice").Str("kind"), notice.GetProperty("metadata").Str("notice_kind"));
            Assert.False(notice.TryGetProperty("seq", out _));
        }
        Assert.Contains("connection refused", retrying.Str("data"));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    /// <summary>The next frame that is not a line of the container (nor a heartbeat); fails on anything else.</summary>
    private static async Task<JsonElement> NextNotice(WebSocket socket)
    {
        while (true)
        {
            var frame = await Frames.Next(socket) ?? throw new InvalidOperationException($"closed: {socket.CloseStatus}");
            if (frame.Type() == "heartbeat")
                continue;
            Assert.True(frame.Type() == "log" && frame.TryGetProperty("notice", out _), $"expected a notice, got {frame}");
            return frame;
        }
    }

    private static List<string> Lines(JsonElement? frame) => frame!.Value.Type() == "batch"
        ? frame.Value.GetProperty("entries").EnumerateArray().Select(e => e.Str("data")).ToList()
        : [frame.Value.Str("data")];

    [Fact]
    public async Task ServerStopping_EverySessionGetsDisconnectedWithReconnectAnd1012()
    {
        await using var api = new ApiFactory(s => s["Streaming:ShutdownDrainWindow"] = "00:00:01");
        var sockets = new List<WebSocket>();
        for (var i = 0; i < 3; i++)
        {
            var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token(subject: $"u{i}")}&tail=0");
            Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
            sockets.Add(socket);
        }
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 3, "every subscriber to attach");

        api.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        foreach (var socket in sockets)
        {
            var (frames, status, _) = await Frames.UntilClosed(socket, TimeSpan.FromSeconds(20));
            var last = Assert.Single(frames);
            Assert.Equal("disconnected", last.Type());
            Assert.True(last.TryGetProperty("reconnect", out var reconnect) && reconnect.GetBoolean(), $"{last} {status}");
            Assert.Equal((WebSocketCloseStatus)1012, status);
        }
    }

    [Fact]
    public void ShutdownTimeout_IsRaisedToFitTheDrainWindow()
    {
        using var api = new ApiFactory(s => s["Streaming:ShutdownDrainWindow"] = "00:02:00");
        _ = api.Server;
        var host = api.Services.GetRequiredService<IOptions<HostOptions>>().Value;
        Assert.True(host.ShutdownTimeout >= TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(10), $"shutdown timeout {host.ShutdownTimeout}");
    }
}

/// <summary>
/// Sessions on a real Kestrel socket with a client that does not read, so that a send is really pending (the test
/// server's in-memory WebSocket takes every frame at once).
/// </summary>
public sealed class PendingSendTests
{
    private const int Lines = 400;
    private static readonly string Big = new('x', 32 * 1024);

    private static ApiFactory KestrelApi(Action<Dictionary<string, string?>> settings)
    {
        var api = new ApiFactory(s =>
        {
            // These tests need more queued than the socket buffers hold, so a send really waits: lift the byte bounds
            // that would otherwise drop the lines first (those bounds have tests of their own).
            s["Pipeline:SubscriberQueueBytes"] = "1073741824";
            s["Pipeline:TotalBufferBytes"] = "2147483648";
            settings(s);
        });
        api.UseKestrel(0);
        api.StartServer();
        return api;
    }

    /// <summary>A client WebSocket with a small receive buffer whose socket the test can look at.</summary>
    private static async Task<(ClientWebSocket Client, Socket Socket)> ConnectAsync(ApiFactory api, string pathAndQuery)
    {
        Socket? captured = null;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                captured = socket;
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var client = new ClientWebSocket();
        client.Options.SetRequestHeader("Origin", ApiFactory.AllowedOrigin);
        var address = api.ClientOptions.BaseAddress;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new Uri($"ws://{address.Authority}{pathAndQuery}"), new HttpMessageInvoker(handler), timeout.Token);
        return (client, captured!);
    }

    /// <summary>
    /// Writes far more than the socket buffers hold and waits until the pipeline has taken it all and the client's
    /// receive buffer has data: from then on the server's send is pending until the client reads.
    /// </summary>
    private static async Task FillAsync(ApiFactory api, Socket socket)
    {
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 1, "the subscriber to attach");
        for (var i = 0; i < Lines; i++)
            api.Containers.Write($"{i} {Big}");
        await Eventually.True(() => api.Streams.ListStreams().Single().HeadSequence == Lines && socket.Available > 0, "the server to be sending", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task DrainWhileASendIsPending_LetsTheFrameFinishAndClosesWith1012()
    {
        await using var api = KestrelApi(s =>
        {
            s["Pipeline:StallTimeout"] = "01:00:00";
            s["Streaming:SendTimeout"] = "01:00:00";
        });
        var (client, socket) = await ConnectAsync(api, $"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0&timestamps=false");
        using var _ = client;
        await FillAsync(api, socket);

        var selector = api.Services.GetRequiredService<PathSelector>();
        selector.SetOverride(LogSourceType.Container, false, "test");
        Assert.Equal(1, await api.Services.GetRequiredService<SessionRegistry>().DrainAsync(LogSourceType.Container, TimeSpan.Zero, "test", CancellationToken.None));

        var (frames, status, _) = await Frames.UntilClosed(client, TimeSpan.FromSeconds(30));
        Assert.Equal("connected", frames[0].Type());
        Assert.Equal("disconnected", frames[^1].Type());
        Assert.True(frames[^1].GetProperty("reconnect").GetBoolean());
        Assert.Equal((WebSocketCloseStatus)1012, status);
        Assert.All(frames[1..^1], f => Assert.Equal("log", f.Type()));
    }

    [Theory]
    [InlineData("send_timeout")]
    [InlineData("stalled")]
    public async Task ServerAbortsAClientThatDoesNotRead_CountsTheRefusalAsSlowConsumer(string cause)
    {
        await using var api = KestrelApi(s =>
        {
            s["Pipeline:StallTimeout"] = cause == "stalled" ? "00:00:01" : "01:00:00";
            s["Streaming:SendTimeout"] = cause == "send_timeout" ? "00:00:01" : "01:00:00";
        });
        var metrics = api.Services.GetRequiredService<LogMetrics>();
        using var refusals = new MetricCollector<long>(metrics.Refusals);
        var (client, socket) = await ConnectAsync(api, $"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0&timestamps=false");
        using var _ = client;
        await FillAsync(api, socket);

        await Eventually.True(() => refusals.GetMeasurementSnapshot().Any(), $"the session's end to be counted; log: {string.Join("\n", api.LogLines.Where(l => l.Contains("Streaming", StringComparison.Ordinal)))}", TimeSpan.FromSeconds(30));
        var refusal = Assert.Single(refusals.GetMeasurementSnapshot());
        Assert.Equal("slow_consumer", (string?)refusal.Tags["code"]);
        Assert.Equal("unified", (string?)refusal.Tags["path"]);
    }
}
