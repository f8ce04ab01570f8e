using LogsMigration.Docker.Events;
using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Listing;

public sealed class HostEventHubTests : IAsyncLifetime
{
    private readonly FakeHostEventSource _source = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T12:00:00Z"));
    private readonly HostEventHub _hub;

    public HostEventHubTests()
    {
        var options = new ListingOptions { EventQueueEntries = 16, EventIdleGrace = TimeSpan.FromSeconds(5) };
        _hub = new HostEventHub(_source, Microsoft.Extensions.Options.Options.Create(options), _time, NullLogger<HostEventHub>.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static HostEvent Started(int i) => new(HostEvent.ContainerKind, "start", $"c{i}", $"web-{i}", "running", DateTimeOffset.UnixEpoch.AddSeconds(i));

    [Fact]
    public async Task TwentySubscribers_ShareOneUpstream_AndEachGetsEveryEventInOrder()
    {
        var subscriptions = Enumerable.Range(0, 20).Select(_ => _hub.Subscribe("main")).ToList();
        await Eventually.True(() => _source.Active == 1, "the upstream opened");
        for (var i = 0; i < 10; i++)
            _source.Current.Emit(Started(i));

        foreach (var subscription in subscriptions)
        {
            var got = new List<string>();
            for (var i = 0; i < 10; i++)
                got.Add((await subscription.Events.ReadAsync()).Id);
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"c{i}"), got);
            Assert.Equal(0, subscription.TakeMissed());
        }
        Assert.Equal(1, _source.Opens);
        var feed = Assert.Single(_hub.ListFeeds());
        Assert.Equal(new HostEventFeedInfo("main", true, 20, 1), feed);
        foreach (var subscription in subscriptions)
            await subscription.DisposeAsync();
    }

    [Fact]
    public async Task SlowSubscriber_LosesItsOwnOldestEvents_Counted_WhileAFastOneGetsAll()
    {
        await using var slow = _hub.Subscribe("main");
        await using var fast = _hub.Subscribe("main");
        await Eventually.True(() => _source.Active == 1, "the upstream opened");
        var fastGot = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            _source.Current.Emit(Started(i));
            fastGot.Add((await fast.Events.ReadAsync()).Id);
        }

        Assert.Equal(40, fastGot.Count);
        Assert.Equal(40 - 16, slow.TakeMissed());
        var slowGot = new List<string>();
        while (slow.Events.TryRead(out var e))
            slowGot.Add(e.Id);
        Assert.Equal(Enumerable.Range(24, 16).Select(i => $"c{i}"), slowGot);
    }

    [Fact]
    public async Task UpstreamFails_EverySubscriptionEndsWithTheFailure_AndTheNextSubscriberOpensANewOne()
    {
        await using var first = _hub.Subscribe("main");
        await using var second = _hub.Subscribe("main");
        await Eventually.True(() => _source.Active == 1, "the upstream opened");

        _source.Current.Fail(new LogSourceException(LogSourceErrorKind.Unavailable, "gone"));

        foreach (var subscription in new[] { first, second })
        {
            var failure = await Assert.ThrowsAsync<LogSourceException>(async () => await subscription.Events.WaitToReadAsync());
            Assert.Equal(LogSourceErrorKind.Unavailable, failure.Kind);
        }
        Assert.False(Assert.Single(_hub.ListFeeds()).Open);

        await using var third = _hub.Subscribe("main");
        await Eventually.True(() => _source.Active == 1 && _source.Opens == 2, "a new upstream opened");
        _source.Current.Emit(Started(1));
        Assert.Equal("c1", (await third.Events.ReadAsync()).Id);
    }

    [Fact]
    public async Task LastSubscriberLeaves_UpstreamStaysForTheIdleGrace_AndARejoinReusesIt_ThenItCloses()
    {
        var first = _hub.Subscribe("main");
        await Eventually.True(() => _source.Active == 1, "the upstream opened");
        await first.DisposeAsync();

        _time.Advance(TimeSpan.FromSeconds(4));
        var rejoined = _hub.Subscribe("main");
        Assert.Equal(1, _source.Opens);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, _source.Active);
        await rejoined.DisposeAsync();

        _time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.True(() => _source.Active == 0, "the upstream closed after the grace");
        Assert.Equal(new HostEventFeedInfo("main", false, 0, 1), Assert.Single(_hub.ListFeeds()));
    }

    [Fact]
    public async Task Hosts_HaveAnUpstreamEach()
    {
        await using var main = _hub.Subscribe("main");
        await using var second = _hub.Subscribe("second");
        await Eventually.True(() => _source.Active == 2, "one upstream per host");
        Assert.Equal(["main", "second"], _hub.ListFeeds().Select(f => f.HostId));
    }
}
