using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// SIGTERM to the service as a real process: every open session is told to reconnect (a rolling deploy), spread over
/// <c>Streaming:ShutdownDrainWindow</c>, and the process still exits cleanly.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class GracefulShutdownTests
{
    private const string Counter = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.02; done";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Sigterm_EverySessionGetsDisconnectedReconnectAnd1012WithinTheWindow_ProcessExitsZero()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var container = await TestContainer.RunAsync(endpoint, "shutdown", Counter);
        await using var service = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            ["Streaming:ShutdownDrainWindow"] = $"{Window:c}",
        });
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 6; i++)
                sockets.Add(await service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false", ServiceProcess.Token(subject: $"user-{i}")));
            // Every session streams before the stop.
            await Task.WhenAll(sockets.Select(s => WsFrames.LogsAsync(s, 5)));

            var stopped = Stopwatch.StartNew();
            var closes = sockets.Select(s => ReadUntilClosedAsync(s, stopped)).ToList();
            service.Terminate();
            var ends = await Task.WhenAll(closes);

            foreach (var end in ends)
            {
                Assert.Equal("disconnected", end.Last.GetProperty("type").GetString());
                Assert.True(end.Last.GetProperty("reconnect").GetBoolean(), end.Last.ToString());
                Assert.Equal((WebSocketCloseStatus)1012, end.Status);
                // Lines flow until the session's own moment; none is cut by a gap or an error on the way out.
                Assert.All(end.Before, f => Assert.True(f.GetProperty("type").GetString() is "log" or "heartbeat" && !f.TryGetProperty("gap", out _), f.ToString()));
                // Within the window, with room for a loaded machine: the point is that nobody waits for a timeout.
                Assert.True(end.At < Window + TimeSpan.FromSeconds(10), $"closed {end.At} after SIGTERM");
            }
            Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("Server stopping: drain of 6 log sessions", service.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task Sigterm_EventsFeedsAreDrainedLikeLogSessions_EachAtItsOwnMomentInTheWindow_DisconnectedReconnectAnd1012()
    {
        const int Feeds = 8;
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var container = await TestContainer.RunAsync(endpoint, "shutdown-feed", Counter);
        await using var service = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            ["Streaming:ShutdownDrainWindow"] = $"{Window:c}",
        });
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 2; i++)
                sockets.Add(await service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=0&timestamps=false", ServiceProcess.Token(subject: $"user-{i}")));
            await Task.WhenAll(sockets.Select(s => WsFrames.LogsAsync(s, 5)));
            var feeds = new List<ClientWebSocket>();
            for (var i = 0; i < Feeds; i++)
            {
                var feed = await service.ConnectAsync("/ws/hosts/local/events", ServiceProcess.Token(subject: $"feed-{i}"));
                Assert.Equal("connected", (await WsFrames.NextAsync(feed, TimeSpan.FromSeconds(30)))!.Value.GetProperty("type").GetString());
                feeds.Add(feed);
            }

            var stopped = Stopwatch.StartNew();
            var logCloses = sockets.Select(s => ReadUntilClosedAsync(s, stopped)).ToList();
            var feedCloses = feeds.Select(s => ReadUntilClosedAsync(s, stopped)).ToList();
            sockets.AddRange(feeds);
            service.Terminate();
            var logEnds = await Task.WhenAll(logCloses);
            var feedEnds = await Task.WhenAll(feedCloses);
            foreach (var end in logEnds.Concat(feedEnds))
            {
                Assert.Equal("disconnected", end.Last.GetProperty("type").GetString());
                Assert.True(end.Last.GetProperty("reconnect").GetBoolean(), end.Last.ToString());
                Assert.Equal((WebSocketCloseStatus)1012, end.Status);
                Assert.True(end.At < Window + TimeSpan.FromSeconds(10), $"closed {end.At} after SIGTERM");
            }
            // The feeds are part of the drain, each at its own random moment in the window like the log sessions: not
            // cut together at SIGTERM, nor together when the server finally stops. Eight moments drawn in the window all
            // fall within a tenth of it with a chance below one in a million; feeds closed together (within the time
            // it takes to close eight sockets) do so every time.
            var moments = feedEnds.Select(e => e.At).ToList();
            Assert.True(moments.Max() - moments.Min() >= Window / 10,
                $"feeds closed together at {string.Join(", ", moments.Select(m => m.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} ms " +
                $"(log sessions at {string.Join(", ", logEnds.Select(e => e.At.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} ms)");
            Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"Server stopping: drain of {2 + Feeds} log sessions", service.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    private sealed record SessionEnd(List<JsonElement> Before, JsonElement Last, WebSocketCloseStatus? Status, TimeSpan At);

    private static async Task<SessionEnd> ReadUntilClosedAsync(ClientWebSocket socket, Stopwatch stopped)
    {
        var frames = await WsFrames.UntilClosedAsync(socket, TimeSpan.FromSeconds(60));
        Assert.NotEmpty(frames);
        return new SessionEnd(frames[..^1], frames[^1], socket.CloseStatus, stopped.Elapsed);
    }
}
