using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Pipeline.Wire;
using LogsMigration.Tests.Unit.Fakes;
using static LogsMigration.Tests.Unit.Fakes.PipelineHarness;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class LogStreamManagerTests
{
    [Fact]
    public async Task Subscribe_ThousandConcurrentSubscribers_OpenExactlyOneUpstream()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(10);
        using var gate = new ManualResetEventSlim();
        var joins = Enumerable.Range(0, 1000).Select(_ => Task.Run(() =>
        {
            gate.Wait();
            return h.Subscribe(tail: 5);
        })).ToArray();
        gate.Set();
        var subscriptions = await Task.WhenAll(joins);

        Assert.Equal(1, h.Source.HistoryOpens);
        Assert.Equal(1, h.Manager.StreamCount);
        var info = Assert.Single(h.Manager.ListStreams());
        Assert.Equal(1000, info.Subscribers);

        h.Source.Write("live");
        foreach (var subscription in subscriptions)
        {
            var events = await Read(subscription, 6);
            Assert.Equal(["line 6", "line 7", "line 8", "line 9", "line 10", "live"], Texts(events));
        }
        // Counted once "live" arrived: a subscriber is served once the history is in, a moment before the live read opens.
        Assert.Equal(1, h.Source.LiveOpens);
        foreach (var subscription in subscriptions)
            await subscription.DisposeAsync();
    }

    [Fact]
    public async Task Subscribe_DifferentTails_ShareOneStreamAndEachGetsItsOwnHistory()
    {
        await using var h = new PipelineHarness(o => o.ReplayEntries = 50);
        h.Source.WriteMany(20);
        await using var two = await h.Subscribe(tail: 2);
        await using var zero = await h.Subscribe(tail: 0);
        await using var all = await h.Subscribe(tail: 50);
        h.Source.Write("live");

        Assert.Equal(["line 19", "line 20", "live"], Texts(await Read(two, 3)));
        Assert.Equal(["live"], Texts(await Read(zero, 1)));
        Assert.Equal(21, Texts(await Read(all, 21)).Length);
        Assert.Equal(1, h.Source.LiveOpens);
        // The first client waited for the upstream's history read; the others were served from the replay buffer.
        Assert.Equal([HistoryOrigin.Upstream, HistoryOrigin.Replay, HistoryOrigin.Replay], new[] { two, zero, all }.Select(s => s.HistoryOrigin));
        Assert.All(new[] { two, zero, all }, s => Assert.NotEqual(0, s.SubscribedTimestamp));
        // The upstream history read asks for the full replay depth, whatever the first client's tail.
        Assert.Equal(50, h.Source.Starts.Single(s => !s.Follow).Tail);
    }

    [Fact]
    public async Task Subscribe_HistoryAndLive_SeamHasNoGapAndNoDuplicate()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(30);
        await using var first = await h.Subscribe(tail: 10);
        h.Source.WriteMany(5);
        var events = await Read(first, 15);
        Assert.Equal(Enumerable.Range(21, 15).Select(i => (long)i), Sequences(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task Subscribe_NeverReadingSubscriber_DoesNotDelayFastOneOver100000Entries()
    {
        await using var h = new PipelineHarness(o => o.SubscriberQueueEntries = 2048);
        await using var stuck = await h.Subscribe(tail: 0);
        await using var fast = await h.Subscribe(tail: 0);
        var received = new List<StreamEvent>(100_000);
        var count = 0;
        var reader = Task.Run(async () =>
        {
            await foreach (var e in fast.ReadAllAsync())
            {
                received.Add(e);
                if (e.Kind == StreamEventKind.Entry && Interlocked.Increment(ref count) == 100_000)
                    return;
            }
        });
        // The upstream writes in bursts of 1,000 (half the queue) at the pace the fast client keeps up with;
        // the stuck client never reads, so its queue overflows again and again.
        for (var burst = 1; burst <= 100; burst++)
        {
            h.Source.WriteMany(1000, i => $"n={i}");
            var expected = burst * 1000;
            await Eventually.True(() => Volatile.Read(ref count) >= expected, $"the fast client to read {expected} lines", TimeSpan.FromSeconds(30));
        }
        await reader.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(1, 100_000).Select(i => (long)i), Sequences(received));
        Assert.DoesNotContain(received, e => e.Kind == StreamEventKind.Gap);

        // The stuck one kept only its newest lines: at most its 2,048, less at most one chunk (the queue drops whole
        // chunks of what one read had ready), and it is told exactly how many it missed.
        var kept = 100_000 - stuck.Dropped;
        Assert.InRange(kept, 2048 - ChunkedRead.MaxRecords, 2048);
        Assert.True(stuck.TryRead(out var gap));
        Assert.Equal(StreamEventKind.Gap, gap.Kind);
        Assert.Equal(GapReason.SlowSubscriber, gap.GapReason);
        Assert.Equal(100_000 - kept, gap.Missed);
        var rest = await Read(stuck, (int)kept);
        Assert.Equal(Enumerable.Range((int)(100_000 - kept + 1), (int)kept).Select(i => (long)i), Sequences(rest));
        Assert.False(stuck.TryRead(out _));
    }

    [Fact]
    public async Task Subscribe_LateJoinersWhileStreaming_EachSeeContiguousSequenceFromTheirTail()
    {
        await using var h = new PipelineHarness(o =>
        {
            o.ReplayEntries = 500;
            // Room for every line: this test is about the history/live seam, not about slow clients.
            o.SubscriberQueueEntries = 20_000;
            o.SubscriberQueueBytes = long.MaxValue;
            o.TotalBufferBytes = long.MaxValue;
        });
        await using var anchor = await h.Subscribe(tail: 0);
        const int total = 10_000;
        var writer = Task.Run(() => h.Source.WriteMany(total, i => $"n={i}"));
        var joiners = new List<(LogSubscription Subscription, Task<List<StreamEvent>> Events)>();
        for (var j = 0; j < 40; j++)
        {
            var subscription = await h.Subscribe(tail: 100);
            joiners.Add((subscription, ReadToEnd(subscription, TimeSpan.FromSeconds(60))));
            await Task.Yield();
        }
        await writer;
        h.Source.End();

        foreach (var (subscription, eventsTask) in joiners)
        {
            var events = await eventsTask;
            var sequences = Sequences(events);
            Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
            Assert.NotEmpty(sequences);
            Assert.Equal(total, sequences[^1]);
            Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Length).Select(i => (long)i), sequences);
            // Each joiner starts at most 100 lines before the head it saw when it joined.
            Assert.True(sequences.Length >= Math.Min(100, total));
            await subscription.DisposeAsync();
        }
        Assert.Equal(total, Sequences(await ReadToEnd(anchor)).Length);
    }

    [Fact]
    public async Task Release_LastSubscriberLeavesAndGracePasses_CancelsUpstreamAndEmptiesRegistry()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(30));
        var a = await h.Subscribe();
        var b = await h.Subscribe();
        Assert.True(h.Manager.TryGetStream(Key, out var stream));
        // The subscribers are served once the history is in, a moment before the live read opens: watch that one.
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        var upstream = h.Source.ReadTokens.Last();
        await a.DisposeAsync();
        await b.DisposeAsync();
        await Eventually.True(() => h.Time.TimersCreated(h.Options.IdleGrace) == 1, "the idle grace to start");

        h.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(upstream.IsCancellationRequested);
        Assert.Equal(1, h.Manager.StreamCount);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        await stream.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(upstream.IsCancellationRequested);
        Assert.Equal(0, h.Manager.StreamCount);
        await Eventually.True(() => h.Source.OpenReads == 0, "the upstream read to finish");
        Assert.Equal(UpstreamState.Closed, stream.State);
    }

    [Fact]
    public async Task Subscribe_ReturningWithinGrace_ReusesStreamAndBuffer()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(30));
        h.Source.WriteMany(3);
        var first = await h.Subscribe();
        await Read(first, 3);
        var epoch = first.Epoch;
        await first.DisposeAsync();
        h.Time.Advance(TimeSpan.FromSeconds(20));
        h.Source.Write("while away");

        await using var again = await h.Subscribe(tail: 10);
        Assert.Equal(epoch, again.Epoch);
        Assert.Equal(["line 1", "line 2", "line 3", "while away"], Texts(await Read(again, 4)));
        h.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, h.Manager.StreamCount);
        Assert.Equal(1, h.Source.LiveOpens);
    }

    [Fact]
    public async Task Subscribe_ResumeAfterSequenceN_YieldsNPlusOneOnward()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(50);
        await using var keeper = await h.Subscribe(tail: 0);
        var first = await h.Subscribe(tail: 50);
        var seen = await Read(first, 20);
        var last = Sequences(seen)[^1];
        await first.DisposeAsync();
        h.Source.WriteMany(5);

        await using var resumed = await h.Subscribe(tail: 100, resume: new ResumePoint(first.Epoch, last));
        var events = await Read(resumed, 55 - (int)last);
        Assert.Equal(Enumerable.Range((int)last + 1, 55 - (int)last).Select(i => (long)i), Sequences(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task Subscribe_ResumePointNoLongerBuffered_GetsGapMarkerWithCount()
    {
        await using var h = new PipelineHarness(o => o.ReplayEntries = 10);
        await using var keeper = await h.Subscribe(tail: 0);
        h.Source.WriteMany(30);
        await Read(keeper, 30);

        await using var resumed = await h.Subscribe(resume: new ResumePoint(keeper.Epoch, 5));
        var events = await Read(resumed, 10);
        Assert.Equal(StreamEventKind.Gap, events[0].Kind);
        Assert.Equal(GapReason.NotRetained, events[0].GapReason);
        Assert.Equal(15, events[0].Missed);
        Assert.Equal(Enumerable.Range(21, 10).Select(i => (long)i), Sequences(events));
    }

    [Fact]
    public async Task Subscribe_ResumePointFromAnotherEpoch_ServesTailWithUnknownGap()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(5);
        await using var s = await h.Subscribe(tail: 2, resume: new ResumePoint("deadbeef", 3));
        var events = await Read(s, 2);
        Assert.Equal(StreamEventKind.Gap, events[0].Kind);
        Assert.Equal(GapReason.StreamRestarted, events[0].GapReason);
        Assert.Equal(-1, events[0].Missed);
        Assert.Equal(["line 4", "line 5"], Texts(events));
    }

    [Fact]
    public async Task Upstream_PermanentFault_ReachesEverySubscriberAfterQueuedLines()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(3);
        var subscriptions = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => h.Subscribe(tail: 3)));
        // Break the live read once it is open: one that opens after the break starts clean (the fake's reopen rule).
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.NotFound, "No such container: c0ffee"));

        foreach (var subscription in subscriptions)
        {
            var events = new List<StreamEvent>();
            var fault = await Assert.ThrowsAsync<LogSourceException>(async () =>
            {
                await foreach (var e in subscription.ReadAllAsync())
                    events.Add(e);
            });
            Assert.Equal(LogSourceErrorKind.NotFound, fault.Kind);
            Assert.Equal(["line 1", "line 2", "line 3"], Texts(events));
            await subscription.DisposeAsync();
        }
        await Eventually.True(() => h.Manager.StreamCount == 0, "the faulted stream to leave the registry");
    }

    [Fact]
    public async Task Upstream_HistoryReadFails_SubscribeThrowsAndNothingIsLeft()
    {
        await using var h = new PipelineHarness();
        h.Source.FailHistory(new LogSourceException(LogSourceErrorKind.NotSupported, "This node is not a swarm manager."));
        var fault = await Assert.ThrowsAsync<LogSourceException>(() => h.Subscribe());
        Assert.Equal(LogSourceErrorKind.NotSupported, fault.Kind);
        await Eventually.True(() => h.Manager.StreamCount == 0, "the failed stream to leave the registry");
        Assert.Equal(0, h.Source.LiveOpens);
    }

    [Fact]
    public async Task Upstream_TransientFault_RetriesWithBackoffAndResumesWithoutLossOrRepeat()
    {
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromSeconds(1));
        h.Source.WriteMany(5);
        await using var s = await h.Subscribe(tail: 5);
        Assert.Equal(5, Sequences(await Read(s, 5)).Length);

        // Two lines share a timestamp at the break: Docker's inclusive "since" returns both again on reopen.
        var at = h.Source.Write("same instant a").Timestamp;
        h.Source.Write("same instant b", at);
        Assert.Equal(2, Sequences(await Read(s, 2)).Length);
        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection refused"), failNextOpens: 1);

        var retrying = await NextNotice(s);
        Assert.Equal(StreamNoticeKind.UpstreamRetrying, retrying.Kind);
        Assert.Equal(UpstreamState.Retrying, h.Manager.ListStreams().Single().State);
        h.Source.Write("written while down");
        // The notice goes out before the stream starts its backoff: move the clock only once that wait exists.
        await Eventually.True(() => h.Time.TimersCreated(TimeSpan.FromSeconds(1)) == 1, "the first backoff to start");
        h.Time.Advance(TimeSpan.FromSeconds(1));   // first retry fails again
        await Eventually.True(() => h.Source.LiveOpens == 2, "the first retry");
        await Eventually.True(() => h.Time.TimersCreated(TimeSpan.FromSeconds(2)) == 1, "the doubled backoff to start");
        h.Time.Advance(TimeSpan.FromSeconds(2));   // backoff doubled; this one succeeds
        var resumed = await NextNotice(s);
        Assert.Equal(StreamNoticeKind.UpstreamResumed, resumed.Kind);

        h.Source.Write("after");
        var events = await Read(s, 2);
        Assert.Equal(["written while down", "after"], Texts(events));
        Assert.Equal([8L, 9L], Sequences(events));
        Assert.Equal(3, h.Source.LiveOpens);
    }

    [Fact]
    public async Task Upstream_EndsNormally_CompletesSubscribersAndLeavesRegistry()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(4);
        await using var s = await h.Subscribe(tail: 10);
        h.Source.End();
        var events = await ReadToEnd(s);
        Assert.Equal(4, Sequences(events).Length);
        await Eventually.True(() => h.Manager.StreamCount == 0, "the ended stream to leave the registry");
    }

    [Fact]
    public async Task Subscribe_AfterResourceStopped_GetsHistoryAndCompletesInsteadOfLooping()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(3);
        h.Source.End();
        await using var s = await h.Subscribe(tail: 2);
        Assert.Equal(["line 2", "line 3"], Texts(await ReadToEnd(s)));
    }

    [Fact]
    public async Task Subscribe_HistoryOnlyWithNoStream_ReadsOnceAndKeepsNoUpstream()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(10);
        await using var s = await h.Subscribe(tail: 3, follow: false);
        Assert.Equal(["line 8", "line 9", "line 10"], Texts(await ReadToEnd(s)));
        Assert.Equal(0, h.Manager.StreamCount);
        Assert.Equal(0, h.Source.LiveOpens);
        Assert.Equal(3, h.Source.Starts.Single().Tail);
    }

    [Fact]
    public async Task Subscribe_HistoryOnlyWithLiveStream_ServedFromReplayWithoutNewRead()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(10);
        await using var live = await h.Subscribe(tail: 0);
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        var readsBefore = h.Source.Starts.Count;
        await using var s = await h.Subscribe(tail: 4, follow: false);
        Assert.Equal(["line 7", "line 8", "line 9", "line 10"], Texts(await ReadToEnd(s)));
        Assert.Equal(readsBefore, h.Source.Starts.Count);
        Assert.Equal(1, h.Manager.ListStreams().Single().Subscribers);
    }

    [Fact]
    public async Task Subscriber_StallsWithQueuedLines_IsClosedWithReasonAndOthersContinue()
    {
        await using var h = new PipelineHarness(o =>
        {
            o.StallTimeout = TimeSpan.FromSeconds(8);
            o.SubscriberQueueEntries = 16;
        });
        var stalled = await h.Subscribe(tail: 0);
        await using var healthy = await h.Subscribe(tail: 0);
        h.Source.WriteMany(10);
        Assert.Equal(10, Sequences(await Read(healthy, 10)).Length);
        await Eventually.True(() => h.Manager.ListStreams().Single().QueuedEntries == 10, "the lines to reach the stalled queue");

        h.Time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.True(() => stalled.Aborted.IsCancellationRequested, "the stalled subscriber to be aborted");
        await Assert.ThrowsAsync<SubscriberStalledException>(async () => await ReadToEnd(stalled));
        await stalled.DisposeAsync();

        h.Source.Write("still flowing");
        Assert.Equal(["still flowing"], Texts(await Read(healthy, 1)));
        Assert.Equal(1, h.Manager.ListStreams().Single().Subscribers);
    }

    [Fact]
    public async Task Subscriber_SlowlyReadingAChunkItHolds_IsNotClosedAsStalled()
    {
        await using var h = new PipelineHarness(o => o.StallTimeout = TimeSpan.FromSeconds(8));
        await using var slow = await h.Subscribe(tail: 0);
        // One upstream read of 200 lines (written at once, or the read could take them in several): one chunk, which
        // the subscriber takes whole and then reads line by line.
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        h.Source.WriteBurst(200);
        // Sequenced (the head) comes a moment before queued for the subscriber: wait for the chunk itself.
        await Eventually.True(() => slow.TryRead(out _), "the chunk to reach the subscriber");
        Assert.Equal(200, h.Manager.ListStreams().Single().HeadSequence);
        for (var second = 1; second <= 20; second++)
        {
            // New lines keep queuing behind the held chunk while the client takes four lines a second: 80 of its 200
            // in 20 s, far past the 8 s stall timeout, without ever finishing the chunk.
            h.Source.Write($"later {second}");
            await Eventually.True(() => h.Manager.ListStreams().Single().QueuedEntries == second, "the new line to be queued");
            h.Time.Advance(TimeSpan.FromSeconds(1));
            for (var line = 0; line < 4; line++)
                Assert.True(slow.TryRead(out _));
        }
        Assert.False(slow.Aborted.IsCancellationRequested);
        Assert.Equal(1, h.Manager.ListStreams().Single().Subscribers);
    }

    [Fact]
    public async Task Entry_SerialisedOncePerFormat_SameBytesForEverySubscriber()
    {
        await using var h = new PipelineHarness();
        h.Source.Write("shared");
        await using var a = await h.Subscribe();
        await using var b = await h.Subscribe();
        var ea = (await Read(a, 1)).Single().Entry!;
        var eb = (await Read(b, 1)).Single().Entry!;
        Assert.Same(ea, eb);
        Assert.Same(ea.GetFrame(LogFrameFormat.Json), eb.GetFrame(LogFrameFormat.Json));
        Assert.Same(ea.GetFrame(LogFrameFormat.JsonTimestamped), eb.GetFrame(LogFrameFormat.JsonTimestamped));
        Assert.NotSame(ea.GetFrame(LogFrameFormat.Json), ea.GetFrame(LogFrameFormat.JsonTimestamped));
    }

    [Fact]
    public async Task Replay_BoundedInBytes_LateJoinerToldHowManyLinesAreNotRetained()
    {
        await using var h = new PipelineHarness(o =>
        {
            o.ReplayEntries = 100;
            o.ReplayBytes = 192 * 1024;
        });
        await using var keeper = await h.Subscribe(tail: 0);
        // About 61 KB each (20 KB of text, and both cached frames of 20 KB each): three fit in 192 KiB.
        var big = new string('x', 10_000);
        for (var i = 0; i < 10; i++)
            h.Source.Write(big);
        await Read(keeper, 10);

        await using var late = await h.Subscribe(tail: 10);
        var events = await Read(late, 3);
        Assert.Equal(StreamEventKind.Gap, events[0].Kind);
        Assert.Equal(GapReason.NotRetained, events[0].GapReason);
        Assert.Equal(7, events[0].Missed);
        Assert.Equal([8L, 9L, 10L], Sequences(events));
    }

    [Fact]
    public async Task Subscribe_UnknownSourceType_ThrowsNotImplemented()
    {
        await using var h = new PipelineHarness();
        var key = Key with { SourceType = LogSourceType.Daemon };
        var fault = await Assert.ThrowsAsync<LogSourceException>(() => h.Manager.SubscribeAsync(key, new SubscriptionRequest(10), CancellationToken.None));
        Assert.Equal(LogSourceErrorKind.NotImplemented, fault.Kind);
    }

    [Fact]
    public async Task Subscribe_CancelledWhileHistoryLoads_ReleasesItsHoldSoTheStreamCanIdleOut()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(1));
        var slow = new SlowHistorySource();
        await using var manager = new LogStreamManager(new LogSourceRegistry([slow]), Microsoft.Extensions.Options.Options.Create(h.Options), h.Time,
            h.Metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger<LogStreamManager>.Instance);
        using var cts = new CancellationTokenSource();
        var subscribe = manager.SubscribeAsync(Key, new SubscriptionRequest(10), cts.Token);
        await slow.Opened.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscribe);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => manager.StreamCount == 0, "the never-attached stream to idle out");
        await slow.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<StreamNotice> NextNotice(LogSubscription subscription)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await subscription.WaitToReadAsync(cts.Token))
        {
            while (subscription.TryRead(out var e))
            {
                if (e.Kind == StreamEventKind.Notice)
                    return e.Notice!;
                Assert.Fail($"Expected a notice, got {e.Kind}");
            }
        }
        throw new InvalidOperationException("The subscription ended without a notice.");
    }

    /// <summary>A source whose history read never answers until cancelled.</summary>
    private sealed class SlowHistorySource : ILogSource
    {
        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LogSourceType SourceType => LogSourceType.Container;

        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => ValueTask.FromResult(resource);

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Opened.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                Cancelled.TrySetResult();
            }
            yield break;
        }
    }
}

public sealed class PartitionedTailTests
{
    [Fact]
    public async Task Subscribe_SourceCountsTailPerTask_HistoryHasTailPerTaskAndNoFalseGaps()
    {
        var source = new TaskPartitionedSource();
        await using var h = new PipelineHarness();
        await using var manager = new LogStreamManager(new LogSourceRegistry([source]), Microsoft.Extensions.Options.Options.Create(h.Options), h.Time, h.Metrics,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<LogStreamManager>.Instance);
        await using var s = await manager.SubscribeAsync(PipelineHarness.Key, new SubscriptionRequest(2), CancellationToken.None);
        var events = await PipelineHarness.Read(s, 4);
        Assert.Equal(["a3", "b3", "a4", "b4"], PipelineHarness.Texts(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
        source.Live.TrySetResult();
        var live = await PipelineHarness.Read(s, 1);
        Assert.Equal(["a5"], PipelineHarness.Texts(live));
        Assert.DoesNotContain(live, e => e.Kind == StreamEventKind.Gap);
    }

    private sealed class TaskPartitionedSource : ILogSource
    {
        public TaskCompletionSource Live { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LogSourceType SourceType => LogSourceType.Container;
        public string? TailPartitionKey => "task_id";
        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => ValueTask.FromResult(resource);

        private static SourceRecord Line(string task, int n) =>
            new(new LogTimestamp(n * 10 + (task == "a" ? 0 : 5)), false, OutputStream.Stdout, $"{task}{n}", LogSeverity.Info, new Dictionary<string, string> { ["task_id"] = task });

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!start.Follow)
            {
                for (var n = 1; n <= 4; n++)
                {
                    yield return Line("a", n);
                    yield return Line("b", n);
                }
                yield break;
            }
            // Like Docker, a live read first gives again every line at or after its since (inclusive).
            for (var n = 1; n <= 4; n++)
            {
                foreach (var line in new[] { Line("a", n), Line("b", n) })
                {
                    if (start.Since is not { } since || line.Timestamp >= since)
                        yield return line;
                }
            }
            await Live.Task.WaitAsync(cancellationToken);
            yield return Line("a", 5);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
