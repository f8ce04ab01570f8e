using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using static LogsMigration.Tests.Unit.Fakes.PipelineHarness;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>The portable cursor: its wire form, and resuming by it across every seam a fake of our own source can show.</summary>
public sealed class ResumeCursorTests
{
    private static readonly LogTimestamp T0 = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    private static LogTimestamp At(double seconds) => new(T0.UnixNanoseconds + (long)(seconds * 1_000_000_000));

    private static ResumeCursor CursorOf(LogEntry entry)
    {
        Assert.NotNull(entry.Position);
        var text = ResumeCursor.Encode(entry.Key, entry.Epoch, entry.Sequence, entry.Position!);
        Assert.True(ResumeCursor.TryDecode(text, out var cursor, out var error), error);
        return cursor;
    }

    private static Task<LogSubscription> Resume(LogStreamManager manager, ResumeCursor cursor, bool follow = true) =>
        manager.SubscribeAsync(Key, new SubscriptionRequest(100, follow, Cursor: cursor), CancellationToken.None);

    [Fact]
    public void Encode_ThenDecode_GivesThePositionBack()
    {
        var position = new StreamPosition(42, [new PartitionPosition(1, 100, 7), new PartitionPosition(2, 200, 9)]);
        var text = ResumeCursor.Encode(Key, "0a0b0c0d", 12, position);
        Assert.Matches("^[A-Za-z0-9_-]+$", text);
        Assert.True(text.Length <= ResumeCursor.MaxLength);
        Assert.True(ResumeCursor.TryDecode(text, out var cursor, out _));
        Assert.True(cursor.IsFor(Key));
        Assert.False(cursor.IsFor(Key with { ResourceId = "other" }));
        Assert.Equal("0a0b0c0d", cursor.Epoch);
        Assert.Equal(12, cursor.Sequence);
        Assert.Equal(42, cursor.Position.Floor);
        Assert.Equal(position.Partitions, cursor.Position.Partitions);
    }

    [Fact]
    public void Encode_MostPartitionsACursorNames_StaysUnder4KiB()
    {
        var partitions = Enumerable.Range(0, 100).Select(i => new PartitionPosition((ulong)i, long.MaxValue - i, ulong.MaxValue - (ulong)i)).ToArray();
        Assert.True(ResumeCursor.Encode(Key, "ffffffff", long.MaxValue, new StreamPosition(long.MaxValue, partitions)).Length <= ResumeCursor.MaxLength);
    }

    [Theory]
    [InlineData("")]
    [InlineData("zz:1")]
    [InlineData("not a cursor")]
    [InlineData("AAAA")]
    [InlineData("A")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")]
    public void Decode_Malformed_IsRefusedWithAReason(string text)
    {
        Assert.False(ResumeCursor.TryDecode(text, out _, out var error));
        Assert.Contains("resume", error);
    }

    [Fact]
    public void Decode_DamagedTooLongOrOfAnotherVersion_IsRefused()
    {
        var text = ResumeCursor.Encode(Key, "01020304", 5, new StreamPosition(long.MinValue, [new PartitionPosition(1, 2, 3)]));
        var damaged = text[..10] + (text[10] == 'A' ? 'B' : 'A') + text[11..];
        Assert.False(ResumeCursor.TryDecode(damaged, out _, out var checksum));
        Assert.Contains("checksum", checksum);
        Assert.False(ResumeCursor.TryDecode(text[..^3], out _, out _));
        Assert.False(ResumeCursor.TryDecode(new string('A', ResumeCursor.MaxLength + 1), out _, out _));

        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(text);
        bytes[0] = 2;
        Assert.False(ResumeCursor.TryDecode(System.Buffers.Text.Base64Url.EncodeToString(bytes), out _, out var version));
        Assert.Contains("version", version);
    }

    [Fact]
    public async Task Subscribe_CursorOfAnotherResource_IsRefusedBeforeAnyRead()
    {
        await using var h = new PipelineHarness();
        var other = ResumeCursor.Encode(Key with { ResourceId = "another" }, "01020304", 1, new StreamPosition(long.MinValue, [new PartitionPosition(1, 2, 3)]));
        Assert.True(ResumeCursor.TryDecode(other, out var cursor, out _));
        await Assert.ThrowsAsync<InvalidResumeException>(() => Resume(h.Manager, cursor));
        Assert.Equal(0, h.Source.HistoryOpens + h.Source.LiveOpens);
    }

    [Fact]
    public async Task Resume_AfterIdleTeardownInANewEpoch_GivesExactlyTheLinesAfterTheCursor()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(30));
        h.Source.WriteMany(5);
        var first = await h.Subscribe(tail: 5);
        var seen = await Read(first, 5);
        var cursor = CursorOf(seen.Where(e => e.Kind == StreamEventKind.Entry).ElementAt(2).Entry!);
        var epoch = first.Epoch;
        await first.DisposeAsync();
        h.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.True(() => h.Manager.StreamCount == 0, "the idle teardown");
        h.Source.WriteMany(2);

        await using var resumed = await Resume(h.Manager, cursor);
        Assert.NotEqual(epoch, resumed.Epoch);
        var events = await Read(resumed, 4);
        Assert.Equal(["line 4", "line 5", "line 6", "line 7"], Texts(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
        h.Source.Write("live");
        Assert.Equal(["live"], Texts(await Read(resumed, 1)));
    }

    [Fact]
    public async Task Resume_OnAnotherProcessWhoseBufferNoLongerReaches_ReadsTheLinesInBetweenOnceAndIsExact()
    {
        // Two managers over one source: the first is the service before its restart, the second after it.
        await using var before = new PipelineHarness(o => o.ReplayEntries = 10);
        before.Source.WriteMany(20);
        var old = await before.Subscribe(tail: 10);
        var seen = await Read(old, 10);
        var cursor = CursorOf(seen.First(e => e.Kind == StreamEventKind.Entry).Entry!);
        Assert.Equal("line 11", seen.First(e => e.Kind == StreamEventKind.Entry).Entry!.Text);
        await old.DisposeAsync();
        before.Source.WriteMany(30);

        await using var after = new LogStreamManager(new LogSourceRegistry([before.Source]), Microsoft.Extensions.Options.Options.Create(before.Options),
            before.Time, PipelineHarness.NewMetrics(), NullLogger<LogStreamManager>.Instance);
        await using var resumed = await Resume(after, cursor);
        var events = await Read(resumed, 39);
        Assert.Equal(Enumerable.Range(12, 39).Select(n => $"line {n}"), Texts(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
        before.Source.Write("live");
        Assert.Equal(["live"], Texts(await Read(resumed, 1)));
    }

    [Fact]
    public async Task Resume_HistoryOnlyFromAnotherProcess_ReadsFromTheSourceAndEnds()
    {
        await using var h = new PipelineHarness();
        h.Source.WriteMany(5);
        LogEntry third;
        await using (var s = await h.Subscribe(tail: 5))
            third = (await Read(s, 5)).Where(e => e.Kind == StreamEventKind.Entry).ElementAt(2).Entry!;
        await using var fresh = new LogStreamManager(new LogSourceRegistry([h.Source]), Microsoft.Extensions.Options.Options.Create(h.Options),
            h.Time, PipelineHarness.NewMetrics(), NullLogger<LogStreamManager>.Instance);
        await using var history = await Resume(fresh, CursorOf(third), follow: false);
        Assert.Equal(["line 4", "line 5"], Texts(await ReadToEnd(history)));
        Assert.Equal(0, fresh.StreamCount);
    }

    [Fact]
    public async Task Resume_CursorLineRotatedAway_GapMarkerThenTheLinesAfterIt()
    {
        await using var h = new PipelineHarness(o => o.ReplayEntries = 5);
        h.Source.Write("old", At(0));
        var s = await h.Subscribe(tail: 5);
        var cursor = CursorOf((await Read(s, 1)).Single(e => e.Kind == StreamEventKind.Entry).Entry!);
        await s.DisposeAsync();

        // The log the cursor points into is gone (a json-file rotated away): a fresh source holds only later lines.
        var rotated = new FakeLogSource();
        for (var i = 1; i <= 8; i++)
            rotated.Write($"new {i}", At(10 + i));
        await using var fresh = new LogStreamManager(new LogSourceRegistry([rotated]), Microsoft.Extensions.Options.Options.Create(h.Options),
            h.Time, PipelineHarness.NewMetrics(), NullLogger<LogStreamManager>.Instance);
        await using var resumed = await Resume(fresh, cursor);
        var events = await Read(resumed, 8);
        Assert.Equal(StreamEventKind.Gap, events[0].Kind);
        Assert.Equal(-1, events[0].Missed);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"new {i}"), Texts(events));
        Assert.Single(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task Reopen_PartitionWhoseClockLags_LineStampedBeforeTheNewestSeenIsNotLost()
    {
        // Task b runs on a node whose clock is a second behind task a's: its next line is stamped before a's last one.
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromSeconds(1));
        h.Source.TailPartitionKey = "task_id";
        h.Source.Write("a1", At(100), "a");
        h.Source.Write("b1", At(99), "b");
        await using var s = await h.Subscribe(tail: 10);
        Assert.Equal(["a1", "b1"], Texts(await Read(s, 2)));

        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => h.Manager.ListStreams().Single().State == UpstreamState.Retrying, "the retry");
        h.Source.Write("b2", At(99.5), "b");
        // The state changes before the backoff starts: move the clock once its timer exists.
        await Eventually.True(() => h.Time.TimersCreated(TimeSpan.FromSeconds(1)) == 1, "the backoff to start");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        h.Source.Write("a2", At(101), "a");

        var events = await Read(s, 2);
        Assert.Equal(["b2", "a2"], Texts(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
        Assert.True(h.Source.Starts.Last().Since <= At(99), "the reopened read starts before the lagging partition's last line");
    }

    [Fact]
    public async Task Reopen_LineWrittenLaterButStampedEarlier_IsNotLostAndNothingRepeats()
    {
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromSeconds(1));
        h.Source.Write("out 1", At(10));
        h.Source.Write("out 2", At(20));
        await using var s = await h.Subscribe(tail: 10);
        Assert.Equal(2, Texts(await Read(s, 2)).Length);
        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => h.Manager.ListStreams().Single().State == UpstreamState.Retrying, "the retry");
        // stderr's copier stamped this line before stdout's last one, but it reached the log after it.
        h.Source.Write("err late", At(19.5));
        // The state changes before the backoff starts: move the clock once its timer exists.
        await Eventually.True(() => h.Time.TimersCreated(TimeSpan.FromSeconds(1)) == 1, "the backoff to start");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        h.Source.Write("out 3", At(21));
        var events = await Read(s, 2);
        Assert.Equal(["err late", "out 3"], Texts(events));
    }

    [Fact]
    public async Task Live_LineReadTwice_IsShownOnce()
    {
        await using var h = new PipelineHarness();
        await using var s = await h.Subscribe(tail: 0);
        var line = h.Source.Write("before rotation", At(1));
        h.Source.Append(line with { });
        h.Source.Write("after rotation", At(2));
        var events = await Read(s, 2);
        Assert.Equal(["before rotation", "after rotation"], Texts(events));
    }

    [Fact]
    public async Task Retry_ReadThatConnectsAndFailsAtOnce_GivesUpInsteadOfLoopingForever()
    {
        await using var h = new PipelineHarness(o =>
        {
            o.RetryInitialBackoff = TimeSpan.FromSeconds(1);
            o.RetryMaxBackoff = TimeSpan.FromSeconds(2);
            o.RetryGiveUpAfter = TimeSpan.FromSeconds(10);
        });
        h.Source.WriteMany(2);
        await using var s = await h.Subscribe(tail: 2);
        await Read(s, 2);
        h.Source.FailEveryLiveReadAfterConnect = new LogSourceException(LogSourceErrorKind.Unavailable, "Error grabbing logs");
        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));

        var ended = ReadToEnd(s, TimeSpan.FromSeconds(60));
        // Each failed attempt starts a backoff (1 s, then 2 s): move the clock once that timer exists, or the move is lost.
        int Backoffs() => h.Time.TimersCreated(TimeSpan.FromSeconds(1)) + h.Time.TimersCreated(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 60 && !ended.IsCompleted; i++)
        {
            var opens = h.Source.LiveOpens;
            var attempt = i;
            await Eventually.True(() => ended.IsCompleted || Backoffs() > attempt, "a retry to wait");
            h.Time.Advance(TimeSpan.FromSeconds(2));
            await Eventually.True(() => ended.IsCompleted || h.Source.LiveOpens > opens, "the next attempt");
        }
        var fault = await Assert.ThrowsAsync<LogSourceException>(() => ended);
        Assert.Contains("Error grabbing logs", fault.Message);
        Assert.InRange(h.Source.LiveOpens, 3, 12);
    }

    [Fact]
    public async Task HistoryOnly_WhileTheStreamRetries_ReadsTheSourceInsteadOfTheStaleBuffer()
    {
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromMinutes(1));
        h.Source.WriteMany(2);
        await using var s = await h.Subscribe(tail: 2);
        await Read(s, 2);
        h.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => h.Manager.ListStreams().Single().State == UpstreamState.Retrying, "the retry");
        h.Source.Write("written while the stream retries");
        await using var history = await h.Subscribe(tail: 10, follow: false);
        Assert.Equal(["line 1", "line 2", "written while the stream retries"], Texts(await ReadToEnd(history)));
    }

    [Fact]
    public async Task SourceMarker_LinesMissing_ReachesEverySubscriberAsAGapInItsPlace()
    {
        await using var h = new PipelineHarness();
        await using var s = await h.Subscribe(tail: 0);
        h.Source.Write("before", At(1));
        h.Source.Append(SourceRecord.IncompleteMarker(At(2), "incomplete log stream: node xyz is not available"));
        h.Source.Write("after", At(3));
        var events = await Read(s, 2);
        Assert.Equal([StreamEventKind.Entry, StreamEventKind.Gap, StreamEventKind.Entry], events.Select(e => e.Kind));
        Assert.Equal(GapReason.SourceIncomplete, events[1].GapReason);
        Assert.Equal(-1, events[1].Missed);
        Assert.Contains("node xyz", events[1].Entry!.Text);
    }
}

/// <summary>A service's tail is counted per task, as Docker counts it: a quiet replica keeps its lines.</summary>
public sealed class PartitionTailsTests
{
    [Fact]
    public async Task Subscribe_QuietTaskBesideBusyOnes_TailHasEveryTasksLastLinesAndNoGap()
    {
        await using var h = new PipelineHarness(o => o.ReplayEntries = 1000);
        h.Source.TailPartitionKey = "task_id";
        var t = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero)).UnixNanoseconds;
        for (var i = 1; i <= 5; i++)
            h.Source.Write($"quiet {i}", new LogTimestamp(t + i), "quiet");
        for (var i = 1; i <= 2000; i++)
        {
            h.Source.Write($"a {i}", new LogTimestamp(t + 1000 + i * 10), "a");
            h.Source.Write($"b {i}", new LogTimestamp(t + 1005 + i * 10), "b");
        }
        // The stream's own history read asks for ReplayEntries lines per task, as Docker counts it.
        await using var s = await h.Subscribe(tail: 100);
        var events = await PipelineHarness.Read(s, 205);
        var texts = PipelineHarness.Texts(events);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"quiet {i}"), texts.Where(x => x.StartsWith("quiet", StringComparison.Ordinal)));
        Assert.Equal(Enumerable.Range(1901, 100).Select(i => $"a {i}"), texts.Where(x => x.StartsWith("a ", StringComparison.Ordinal)));
        Assert.Equal(Enumerable.Range(1901, 100).Select(i => $"b {i}"), texts.Where(x => x.StartsWith("b ", StringComparison.Ordinal)));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
    }
}

/// <summary>Small races of a stream's timers.</summary>
public sealed class StreamTimerTests
{
    [Fact]
    public async Task IdleTimer_StaleCallbackOfAnEarlierTimer_DoesNotCloseTheStreamBeforeItsGrace()
    {
        await using var h = new PipelineHarness(o => o.IdleGrace = TimeSpan.FromSeconds(30));
        var first = await h.Subscribe();
        Assert.True(h.Manager.TryGetStream(Key, out var stream));
        await first.DisposeAsync();          // idle timer 1
        var again = await h.Subscribe();      // timer 1 disposed
        await again.DisposeAsync();          // idle timer 2
        stream.OnIdleTimer(1);               // timer 1's callback, already on its way, runs late
        Assert.Equal(1, h.Manager.StreamCount);
        Assert.False(h.Source.ReadTokens.Last().IsCancellationRequested);

        h.Time.Advance(TimeSpan.FromSeconds(30));
        await stream.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, h.Manager.StreamCount);
    }
}

/// <summary>Upstream notices keep their place among the lines, survive a queue overflow, and reach late joiners.</summary>
public sealed class NoticeOrderTests
{
    private static readonly LogSourceException Reset = new(LogSourceErrorKind.Unavailable, "connection reset");

    [Fact]
    public async Task Retrying_AfterABurstOfLines_ComesAfterEveryLineReadBeforeTheFault()
    {
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromMinutes(1));
        await using var s = await h.Subscribe(tail: 0);
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        h.Source.WriteMany(5000);
        h.Source.BreakLiveReads(Reset);
        var events = new List<StreamEvent>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!events.Any(e => e.Kind == StreamEventKind.Notice) && await s.WaitToReadAsync(cts.Token))
        {
            while (s.TryRead(out var e))
                events.Add(e);
        }
        var notice = events.FindIndex(e => e.Kind == StreamEventKind.Notice);
        Assert.Equal(StreamNoticeKind.UpstreamRetrying, events[notice].Notice!.Kind);
        // Every line read before the fault is before the notice: shown, or counted in a gap marker if this reader fell behind.
        var before = events.Take(notice).ToList();
        Assert.Equal(5000, before.Count(e => e.Kind == StreamEventKind.Entry) + before.Where(e => e.Kind == StreamEventKind.Gap).Sum(e => e.Missed));
        Assert.DoesNotContain(events.Skip(notice + 1), e => e.Kind == StreamEventKind.Entry);
    }

    [Fact]
    public async Task Retrying_InTheQueueOfASubscriberThatOverflows_IsStillDelivered()
    {
        await using var h = new PipelineHarness(o =>
        {
            o.RetryInitialBackoff = TimeSpan.FromSeconds(1);
            o.SubscriberQueueEntries = 16;
        });
        await using var s = await h.Subscribe(tail: 0);
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        h.Source.WriteMany(20);
        await Eventually.True(() => h.Manager.ListStreams().Single().HeadSequence == 20, "the lines to be sequenced");
        h.Source.BreakLiveReads(Reset);
        await Eventually.True(() => h.Manager.ListStreams().Single().State == UpstreamState.Retrying, "the retry");
        // Far more lines than the queue holds arrive after the notice: the notice is the oldest item in the queue.
        // In several reads' chunks (at most 256 lines each), so the queue drops whole chunks from its head.
        h.Source.WriteMany(600);
        await Eventually.True(() =>
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
            return h.Manager.ListStreams().Single().HeadSequence == 620;
        }, "the reopened read to give the new lines");

        var events = await PipelineHarness.ReadToEndOrIdle(s);
        Assert.Contains(events, e => e.Kind == StreamEventKind.Notice && e.Notice!.Kind == StreamNoticeKind.UpstreamRetrying);
        Assert.Contains(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task Subscriber_JoiningWhileTheStreamRetries_IsToldAtOnce()
    {
        await using var h = new PipelineHarness(o => o.RetryInitialBackoff = TimeSpan.FromMinutes(1));
        h.Source.WriteMany(3);
        await using var first = await h.Subscribe(tail: 3);
        await Eventually.True(() => h.Source.LiveOpens == 1, "the live read to open");
        h.Source.BreakLiveReads(Reset);
        await Eventually.True(() => h.Manager.ListStreams().Single().State == UpstreamState.Retrying, "the retry");

        await using var late = await h.Subscribe(tail: 3);
        var events = await PipelineHarness.ReadToEndOrIdle(late);
        Assert.Equal(["line 1", "line 2", "line 3"], PipelineHarness.Texts(events));
        Assert.Equal(StreamEventKind.Notice, events[^1].Kind);
        Assert.Equal(StreamNoticeKind.UpstreamRetrying, events[^1].Notice!.Kind);
    }
}
