using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// The sender's wake (<c>LogSessionSender</c>): lines (the subscriber queue's callback) and heartbeat ticks (a timer on
/// another thread) race to wake one waiting sender, and only one of them may resume it per wait. Every line must
/// arrive once and in order, and the last lines must arrive with no tick left to wake the sender: a lost wake would
/// leave them queued until a heartbeat that never comes here, and the read would not finish.
/// </summary>
public sealed class SenderWakeTests
{
    private const int Racing = 3000;
    private const int Last = 50;

    [Theory]
    [InlineData("line")]
    [InlineData("batch")]
    public async Task LinesRacingHeartbeatTicks_EveryLineOnceInOrder_TheLastOnesWithNoTickLeft(string format)
    {
        var time = new RecordingTimeProvider();
        time.SetUtcNow(DateTimeOffset.UtcNow);
        await using var api = new ApiFactory(s =>
        {
            s["Streaming:HeartbeatInterval"] = "00:00:01";
            // The clock runs fast here: nothing may be judged stalled by it, and no linger may wait for it.
            s["Streaming:SendTimeout"] = "01:00:00";
            s["Pipeline:StallTimeout"] = "01:00:00";
            s["Streaming:BatchLinger"] = "00:00:00";
            // Room for every line: a reader slower than the writer is told it fell behind (a gap), which is not this test's subject.
            s["Pipeline:SubscriberQueueEntries"] = "10000";
        }, time: time);
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0&timestamps=false&format={format}");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 1, "the subscriber to attach");

        var received = new List<string>();
        var others = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (received.Count < Racing + Last && await Frames.Next(socket) is { } frame)
            {
                switch (frame.Type())
                {
                    case "log":
                        received.Add(frame.Str("data"));
                        break;
                    case "batch":
                        received.AddRange(frame.GetProperty("entries").EnumerateArray().Select(e => e.Str("data")));
                        break;
                    case "heartbeat":
                        break;
                    default:
                        others.Add(frame.ToString());
                        break;
                }
            }
        });

        using var stop = new CancellationTokenSource();
        var ticks = 0;
        var ticking = Task.Run(async () =>
        {
            // At most 1,000 fake seconds, well inside the hour of the timeouts above.
            do
            {
                time.Advance(TimeSpan.FromSeconds(1));
                ticks++;
                await Task.Delay(1);
            }
            while (!stop.IsCancellationRequested && ticks < 1000);
        });
        for (var written = 0; written < Racing; written += 10)
        {
            api.Containers.WriteMany(10);
            await Task.Yield();
        }
        await stop.CancelAsync();
        await ticking;

        // No tick from here on: only the lines themselves can wake the sender.
        api.Containers.WriteMany(Last);
        try
        {
            await reading.WaitAsync(ApiFactory.Timeout);
        }
        catch (TimeoutException)
        {
            var at = received.Select((l, i) => (l, i)).FirstOrDefault(x => x.l != $"line {x.i + 1}");
            Assert.Fail($"first unexpected at {at.i}: {at.l}; {received.Count} of {Racing + Last} lines arrived (the last: {received.LastOrDefault()}); other frames: {string.Join(" ", others.Take(5))}; queued now {api.Streams.ListStreams().Sum(s => s.QueuedEntries)}");
        }

        Assert.True(ticks > 0);
        Assert.Empty(others);
        Assert.Equal(Enumerable.Range(1, Racing + Last).Select(i => $"line {i}"), received);
    }
}
