using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// <c>Streaming:BatchLinger</c>: with <c>format=batch</c>, lines that come within the linger of the previous frame wait
/// for it and go together; the first line after a quiet spell goes at once. The service's clock is a fake one, so
/// "waits for the linger" is proven by the linger's timer and by moving the clock, never by how long anything took.
/// </summary>
public sealed class BatchLingerTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(50);

    private static async Task<(ApiFactory Api, RecordingTimeProvider Time, WebSocket Socket)> ConnectAsync(TimeSpan linger)
    {
        var time = new RecordingTimeProvider();
        time.SetUtcNow(DateTimeOffset.UtcNow);
        var api = new ApiFactory(s => s["Streaming:BatchLinger"] = linger.ToString("c"), time: time);
        var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0&timestamps=false&format=batch");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 1, "the subscriber to attach");
        return (api, time, socket);
    }

    private static List<string> Lines(JsonElement batch)
    {
        Assert.Equal("batch", batch.Type());
        return batch.GetProperty("entries").EnumerateArray().Select(e => e.Str("data")).ToList();
    }

    private static long Queued(ApiFactory api) => api.Streams.ListStreams().Sum(s => s.QueuedEntries);

    [Fact]
    public async Task LinesWithinTheLinger_GoInOneFrameWhenItHasPassed_AndTheFirstAfterAQuietSpellGoesAtOnce()
    {
        var (api, time, socket) = await ConnectAsync(Linger);
        await using var _ = api;
        using var __ = socket;

        // The first line of an idle stream: no linger (the clock does not move).
        api.Containers.Write("line 1");
        Assert.Equal(["line 1"], Lines((await Frames.Next(socket))!.Value));

        // The next line comes within the linger of that frame: the sender waits for the rest of it…
        api.Containers.Write("line 2");
        await Eventually.True(() => time.TimersCreated(Linger) == 1, "the sender to linger");
        api.Containers.Write("line 3");
        api.Containers.Write("line 4");
        await Eventually.True(() => Queued(api) == 3, "lines 2-4 to wait in the client's queue");
        // …and sends everything that came meanwhile in one frame once it has passed.
        time.Advance(Linger);
        Assert.Equal(["line 2", "line 3", "line 4"], Lines((await Frames.Next(socket))!.Value));

        // A quiet spell longer than the linger: the next line goes at once again.
        time.Advance(TimeSpan.FromSeconds(1));
        api.Containers.Write("line 5");
        Assert.Equal(["line 5"], Lines((await Frames.Next(socket))!.Value));
    }

    [Fact]
    public async Task StreamEndingDuringTheLinger_ItsLinesThenDisconnectedInOrder_NoLaterThanTheLinger()
    {
        var (api, time, socket) = await ConnectAsync(Linger);
        await using var _ = api;
        using var __ = socket;
        api.Containers.Write("line 1");
        Assert.Equal(["line 1"], Lines((await Frames.Next(socket))!.Value));

        api.Containers.Write("line 2");
        await Eventually.True(() => time.TimersCreated(Linger) == 1, "the sender to linger");
        api.Containers.End();
        time.Advance(Linger);

        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal(["batch", "disconnected"], frames.Select(f => f.Type()));
        Assert.Equal(["line 2"], Lines(frames[0]));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task StreamEndingWhileTheSenderIdlesWithinTheLinger_DisconnectedAtOnce()
    {
        var (api, time, socket) = await ConnectAsync(Linger);
        await using var _ = api;
        using var __ = socket;
        api.Containers.Write("line 1");
        Assert.Equal(["line 1"], Lines((await Frames.Next(socket))!.Value));

        // The sender is idle, its last drain within the linger (the clock never moves): the end is nothing to gather
        // lines for, so it goes at once and no linger is waited for.
        api.Containers.End();

        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal(["disconnected"], frames.Select(f => f.Type()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal(0, time.TimersCreated(Linger));
    }

    [Fact]
    public async Task ClientLeavingDuringTheLinger_EndsTheSessionWithoutWaitingForIt()
    {
        var (api, time, socket) = await ConnectAsync(Linger);
        await using var _ = api;
        using var __ = socket;
        api.Containers.Write("line 1");
        Assert.Equal(["line 1"], Lines((await Frames.Next(socket))!.Value));
        api.Containers.Write("line 2");
        await Eventually.True(() => time.TimersCreated(Linger) == 1, "the sender to linger");

        // The clock never reaches the end of the linger: only the client's leaving can end the session.
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 0, "the session to end");
    }

    [Fact]
    public async Task ZeroLinger_EveryDrainGoesAtOnce()
    {
        var (api, time, socket) = await ConnectAsync(TimeSpan.Zero);
        await using var _ = api;
        using var __ = socket;
        for (var i = 1; i <= 3; i++)
        {
            api.Containers.Write($"line {i}");
            // The clock never moves: each line must leave without any timer.
            Assert.Equal([$"line {i}"], Lines((await Frames.Next(socket))!.Value));
        }
    }
}
