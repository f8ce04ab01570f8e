using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Query;

/// <summary>A subscription read through a <see cref="LineFilter"/>, on the shared pipeline with a fake source.</summary>
public sealed class FilteredSubscriptionTests : IAsyncLifetime
{
    private readonly PipelineHarness _pipeline = new(o => o.SubscriberQueueEntries = 300);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _pipeline.DisposeAsync();

    private static LineFilter Matching(string pattern) =>
        new(LinePattern.TryCreate(pattern, new QueryOptions(), out _), null, null, null, null, null);

    private static async Task<List<StreamEvent>> Read(LogSubscription subscription, int entries)
    {
        var events = new List<StreamEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (events.Count(e => e.Kind == StreamEventKind.Entry) < entries && await subscription.WaitToReadAsync(timeout.Token))
        {
            while (subscription.TryRead(out var e))
                events.Add(e);
        }
        return events;
    }

    [Fact]
    public async Task Live_OnlyMatchingLines_WithTheirMatches()
    {
        await using var subscription = await _pipeline.Subscribe(tail: 0);
        subscription.Apply(Matching("err"), tail: null);
        for (var i = 1; i <= 9; i++)
            _pipeline.Source.Write(i % 3 == 0 ? $"n={i} ERROR" : $"n={i} fine");
        var events = await Read(subscription, 3);
        Assert.Equal(["n=3 ERROR", "n=6 ERROR", "n=9 ERROR"], events.Select(e => e.Entry!.Text));
        Assert.All(events, e => Assert.Equal([new MatchSpan(4, 7)], e.Matches!));
    }

    [Fact]
    public async Task SlowFilteredClient_GapCountsEveryMissedLine_MatchingOrNot()
    {
        await using var subscription = await _pipeline.Subscribe(tail: 0);
        subscription.Apply(Matching("keep"), tail: null);
        // 1,000 lines while the client reads nothing: its queue (300) drops the oldest chunks; then one matching line.
        for (var i = 1; i <= 1000; i++)
            _pipeline.Source.Write($"n={i} drop");
        await Eventually.True(() => subscription.Dropped > 0, "the queue to overflow");
        _pipeline.Source.Write("n=1001 keep");
        var events = await Read(subscription, 1);
        var gap = Assert.Single(events, e => e.Kind == StreamEventKind.Gap);
        Assert.Equal(subscription.Dropped, gap.Missed);
        Assert.Equal("n=1001 keep", Assert.Single(events, e => e.Kind == StreamEventKind.Entry).Entry!.Text);
    }
}
