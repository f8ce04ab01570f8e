using System.Diagnostics.Metrics;
using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using static LogsMigration.Tests.Unit.Fakes.PipelineHarness;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>The byte bounds and the process budget through the stream manager, as the service uses them.</summary>
public sealed class BufferBudgetPipelineTests
{
    private static readonly string Line64K = BufferTestEntries.Line64K;

    [Fact]
    public async Task SlowSubscriber_On64KiBLines_QueueStaysWithinItsBytesAndItsGapsCountEveryLine()
    {
        await using var h = new PipelineHarness(o => o.SubscriberQueueBytes = 1024 * 1024);
        await using var slow = await h.Subscribe(tail: 0);
        await using var fast = await h.Subscribe(tail: 0);
        const int delivered = 40;
        for (var line = 1; line <= delivered; line++)
        {
            // One line per upstream read, taken by the fast reader before the next: its own queue never overflows.
            h.Source.Write(Line64K);
            Assert.Equal([(long)line], Sequences(await Read(fast, 1)));
            // The lines the slow reader holds stay within its byte bound: 1 MiB is two 64 KiB lines with their frames.
            var queued = h.Manager.ListStreams().Single().QueuedBytes;
            Assert.InRange(queued, 1, 1024 * 1024);
        }

        Assert.Equal(2, h.Manager.ListStreams().Single().QueuedEntries);
        var events = await Read(slow, 2);
        var gaps = events.Where(e => e.Kind == StreamEventKind.Gap).ToList();
        Assert.Single(gaps);
        Assert.Equal(GapReason.SlowSubscriber, gaps[0].GapReason);
        // Nothing lost without a count: every line of the 200 is either delivered or in the gap marker.
        Assert.Equal(delivered - 2, gaps[0].Missed);
        Assert.Equal(slow.Dropped, gaps[0].Missed);
        Assert.Equal([39L, 40L], Sequences(events));
    }

    [Fact]
    public async Task StreamsWithinTheBudget_ShowTheirBytes_AndGiveThemBackWhenTheyClose()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(5));
        var budget = h.Manager.Budget;
        var reader = await h.Subscribe(tail: 0);
        var stuck = await h.Subscribe(tail: 0);
        h.Source.WriteMany(5, i => $"line {i}");
        await Read(reader, 5);
        await Eventually.True(() => h.Manager.ListStreams().Single().QueuedEntries == 5, "the stuck subscriber's queue to hold the lines");

        var info = h.Manager.ListStreams().Single();
        Assert.Equal(5, info.ReplayEntries);
        Assert.Equal(info.ReplayBytes, budget.ReplayBytes);
        Assert.Equal(info.QueuedBytes, budget.QueuedBytes);
        // The stuck one holds the same five lines the replay buffer holds, and each is charged with its frames.
        Assert.Equal(info.ReplayBytes, info.QueuedBytes);
        Assert.True(info.ReplayBytes > 5 * 2 * "line 1".Length);

        await stuck.DisposeAsync();
        Assert.Equal(0, budget.QueuedBytes);
        await reader.DisposeAsync();
        h.Time.Advance(TimeSpan.FromSeconds(6));
        await Eventually.True(() => h.Manager.StreamCount == 0, "the idle stream to close");
        await Eventually.True(() => budget.TotalBytes == 0, "the closed stream's replay bytes to go back to the budget");
    }

    [Fact]
    public async Task Budget_OneBigStreamDropsItsOwnHistory_AnotherStreamKeepsAllOfIts()
    {
        var options = new PipelineOptions { IdleGrace = TimeSpan.FromSeconds(30), StallTimeout = TimeSpan.FromMinutes(10), TotalBufferBytes = 2 * 1024 * 1024 };
        var quiet = new FakeLogSource(LogSourceType.Container);
        var busy = new FakeLogSource(LogSourceType.Service);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var manager = new LogStreamManager(new LogSourceRegistry([quiet, busy]), Microsoft.Extensions.Options.Options.Create(options), time,
            NewMetrics(), NullLogger<LogStreamManager>.Instance);
        var quietKey = Key;
        var busyKey = Key with { SourceType = LogSourceType.Service };

        quiet.WriteMany(20, i => $"quiet {i}");
        await using var quietReader = await manager.SubscribeAsync(quietKey, new SubscriptionRequest(100), CancellationToken.None);
        await Read(quietReader, 20);
        await using var busyReader = await manager.SubscribeAsync(busyKey, new SubscriptionRequest(0), CancellationToken.None);
        // 30 lines of 64 KiB charge about 11.5 MiB against a budget of 2 MiB; one per read, each taken before the next.
        for (var line = 1; line <= 30; line++)
        {
            busy.Write(Line64K);
            Assert.Equal([(long)line], Sequences(await Read(busyReader, 1)));
        }

        Assert.InRange(manager.Budget.TotalBytes, 1, options.TotalBufferBytes);
        await using var quietLate = await manager.SubscribeAsync(quietKey, new SubscriptionRequest(100), CancellationToken.None);
        var quietHistory = await Read(quietLate, 20);
        Assert.DoesNotContain(quietHistory, e => e.Kind == StreamEventKind.Gap);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), Sequences(quietHistory));

        // The busy stream kept what fits beside the quiet one; a late joiner is told how many lines it no longer holds.
        var kept = manager.ListStreams().Single(s => s.Key == busyKey).ReplayEntries;
        Assert.InRange(kept, 1, 5);
        await using var busyLate = await manager.SubscribeAsync(busyKey, new SubscriptionRequest(30), CancellationToken.None);
        var busyHistory = await Read(busyLate, kept);
        Assert.Equal(StreamEventKind.Gap, busyHistory[0].Kind);
        Assert.Equal(GapReason.NotRetained, busyHistory[0].GapReason);
        Assert.Equal(30 - kept, busyHistory[0].Missed);
        Assert.Equal(Enumerable.Range(31 - kept, kept).Select(i => (long)i), Sequences(busyHistory));
    }

    [Fact]
    public void Gauges_ReportBufferedBytesByKindAndTheLimit()
    {
        var budget = new BufferBudget(1000);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new LogMetrics(factory, budget);
        var replay = new ReplayBuffer(10, long.MaxValue, budget);
        replay.Append(BufferTestEntries.Entry(1, "replayed"));
        var queue = new SubscriberQueue(10, 0, false, TimeProvider.System, () => null, long.MaxValue, budget);
        queue.Enqueue([BufferTestEntries.Entry(1, "queued line")]);

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's instruments: parallel tests' hosts have meters of the same name.
            if (ReferenceEquals(instrument, metrics.BufferBytes) || ReferenceEquals(instrument, metrics.BufferLimit))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var kind = tags.ToArray().FirstOrDefault(t => t.Key == "kind").Value as string;
            seen[kind is null ? instrument.Name : $"{instrument.Name}:{kind}"] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(budget.ReplayBytes, seen["logs.buffer.bytes:replay"]);
        Assert.Equal(budget.QueuedBytes, seen["logs.buffer.bytes:queue"]);
        Assert.True(seen["logs.buffer.bytes:queue"] > 0);
        Assert.Equal(1000, seen["logs.buffer.limit"]);
    }

    [Theory]
    [InlineData(nameof(PipelineOptions.SubscriberQueueBytes), 1000L, "Pipeline:SubscriberQueueBytes must be at least 65536")]
    [InlineData(nameof(PipelineOptions.TotalBufferBytes), 1024L * 1024, "Pipeline:TotalBufferBytes must be at least ReplayBytes and SubscriberQueueBytes")]
    public void Validator_ByteBoundsTooSmall_AreRefusedNamingTheSetting(string option, long value, string message)
    {
        var options = new PipelineOptions();
        typeof(PipelineOptions).GetProperty(option)!.SetValue(options, value);
        var result = new PipelineOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage);
        Assert.True(new PipelineOptionsValidator().Validate(null, new PipelineOptions()).Succeeded);
    }
}
