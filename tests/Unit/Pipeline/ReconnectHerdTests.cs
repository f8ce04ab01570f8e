using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using static LogsMigration.Tests.Unit.Fakes.PipelineHarness;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>
/// A reconnect herd on an instance that has never seen the stream (the viewers of a dead instance arriving with
/// their cursors): one catch-up read for all of them, from the earliest cursor, and each viewer exact.
/// </summary>
public sealed class ReconnectHerdTests
{
    private static ResumeCursor CursorOf(LogsMigration.Pipeline.Model.LogEntry entry)
    {
        var text = ResumeCursor.Encode(entry.Key, entry.Epoch, entry.Sequence, entry.Position!);
        Assert.True(ResumeCursor.TryDecode(text, out var cursor, out var error), error);
        return cursor;
    }

    [Fact]
    public async Task Herd_CursorsOlderThanTheBuffer_OneCatchUpReadFromTheEarliestAndEveryViewerExact()
    {
        await using var before = new PipelineHarness(o => o.ReplayEntries = 10);
        before.Source.WriteMany(20);
        var old = await before.Subscribe(tail: 10);
        var seen = (await Read(old, 10)).Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!).ToList();
        await old.DisposeAsync();
        // Viewers that stopped at lines 11, 13, ... 19; then 30 more lines, more than the new buffer holds.
        var cursors = Enumerable.Range(0, 5).Select(i => (Line: 11 + 2 * i, Cursor: CursorOf(seen[2 * i]))).ToList();
        before.Source.WriteMany(30);
        var readsBefore = before.Source.HistoryOpens;

        await using var after = new LogStreamManager(new LogSourceRegistry([before.Source]), Microsoft.Extensions.Options.Options.Create(before.Options),
            before.Time, NewMetrics(), NullLogger<LogStreamManager>.Instance);
        // The earliest asks first (as the first of a herd to reach the instance); the others while it waits.
        var subscribing = cursors.Select(c => after.SubscribeAsync(Key, new SubscriptionRequest(100, Cursor: c.Cursor), CancellationToken.None)).ToList();
        var subscriptions = await Task.WhenAll(subscribing);
        try
        {
            foreach (var (subscription, (line, _)) in subscriptions.Zip(cursors))
            {
                var events = await Read(subscription, 50 - line);
                Assert.Equal(Enumerable.Range(line + 1, 50 - line).Select(n => $"line {n}"), Texts(events));
                Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
            }
            // The new stream's own history read, and one catch-up read for the five viewers.
            Assert.Equal(2, before.Source.HistoryOpens - readsBefore);
            before.Source.Write("live");
            foreach (var subscription in subscriptions)
                Assert.Equal(["live"], Texts(await Read(subscription, 1)));
        }
        finally
        {
            foreach (var subscription in subscriptions)
                await subscription.DisposeAsync();
        }
    }

    [Fact]
    public async Task Herd_ViewersStoppedAtTheSameLine_ShareOneReadAndNoneGetsAFalseGap()
    {
        // The common herd: every viewer of a stream stopped at its newest line, each with a cursor of its own (equal,
        // not the same object). The shared read starts after that line, so none may seek it in the read and call it lost.
        await using var before = new PipelineHarness(o => o.ReplayEntries = 10);
        before.Source.WriteMany(20);
        var old = await before.Subscribe(tail: 10);
        var last = (await Read(old, 10)).Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!).Last();
        await old.DisposeAsync();
        var cursors = Enumerable.Range(0, 4).Select(_ => CursorOf(last)).ToList();
        before.Source.WriteMany(30);

        await using var after = new LogStreamManager(new LogSourceRegistry([before.Source]), Microsoft.Extensions.Options.Options.Create(before.Options),
            before.Time, NewMetrics(), NullLogger<LogStreamManager>.Instance);
        var subscriptions = await Task.WhenAll(cursors.Select(c => after.SubscribeAsync(Key, new SubscriptionRequest(100, Cursor: c), CancellationToken.None)));
        try
        {
            foreach (var subscription in subscriptions)
            {
                var events = await Read(subscription, 30);
                Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
                Assert.Equal(Enumerable.Range(21, 30).Select(n => $"line {n}"), Texts(events));
            }
        }
        finally
        {
            foreach (var subscription in subscriptions)
                await subscription.DisposeAsync();
        }
    }

    [Fact]
    public async Task Herd_EarliestChecksItsBufferWhileALaterOneStartsTheRead_StillOneReadFromTheEarliest()
    {
        // The order the herd test's five subscribers can take on a busy machine, fixed by hand: the earliest finds
        // the buffer does not reach it (TryAttach) and, before it asks for the catch-up, a later one does.
        await using var before = new PipelineHarness(o => o.ReplayEntries = 10);
        before.Source.WriteMany(20);
        var old = await before.Subscribe(tail: 10);
        var seen = (await Read(old, 10)).Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!).ToList();
        await old.DisposeAsync();
        var (earliest, later) = (CursorOf(seen[0]), CursorOf(seen[2]));
        before.Source.WriteMany(30);

        var stream = new LogStream(Key, before.Source, before.Options, new BufferBudget(before.Options.TotalBufferBytes), before.Time,
            NullLogger.Instance, NewMetrics(), onClosed: _ => { });
        try
        {
            Assert.True(stream.TryAcquire(earliest.Position));
            Assert.True(stream.TryAcquire(later.Position));
            await stream.HistoryLoaded.WaitAsync(TimeSpan.FromSeconds(30));
            var readsBefore = before.Source.HistoryOpens;
            Assert.Null(stream.TryAttach(new SubscriptionRequest(100, Cursor: earliest), catchUp: null, force: false));
            var laterRead = await stream.CatchUpAsync(later.Position, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            var earliestRead = await stream.CatchUpAsync(earliest.Position, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1, before.Source.HistoryOpens - readsBefore);
            Assert.Equal(Enumerable.Range(12, 39).Select(n => $"line {n}"), earliestRead.Entries.Select(e => e.Text));
            Assert.Equal(Enumerable.Range(14, 37).Select(n => $"line {n}"), laterRead.Entries.Select(e => e.Text));
        }
        finally
        {
            stream.Close();
            await stream.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task ReleaseUnattached_ViewerGaveUpWhileTheHistoryLoaded_ItsCursorNoLongerStartsTheNextCatchUp()
    {
        // The earliest viewer of a herd leaves before the stream's history is loaded (its tab closed, its timeout): a
        // later catch-up must start from the cursors still waiting, not from the one that left.
        await using var before = new PipelineHarness(o => o.ReplayEntries = 10);
        before.Source.WriteMany(20);
        var old = await before.Subscribe(tail: 10);
        var seen = (await Read(old, 10)).Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!).ToList();
        await old.DisposeAsync();
        var (gone, later) = (CursorOf(seen[0]), CursorOf(seen[2]));
        before.Source.WriteMany(30);

        var stream = new LogStream(Key, before.Source, before.Options, new BufferBudget(before.Options.TotalBufferBytes), before.Time,
            NullLogger.Instance, NewMetrics(), onClosed: _ => { });
        try
        {
            Assert.True(stream.TryAcquire(gone.Position));
            stream.ReleaseUnattached(gone.Position);
            Assert.True(stream.TryAcquire(later.Position));
            await stream.HistoryLoaded.WaitAsync(TimeSpan.FromSeconds(30));
            var read = await stream.CatchUpAsync(later.Position, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Same(later.Position, read.From);
            Assert.Equal(Enumerable.Range(14, 37).Select(n => $"line {n}"), read.Entries.Select(e => e.Text));
        }
        finally
        {
            stream.Close();
            await stream.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void Covers_LaterCursorOfOnePartition_IsCoveredAndNotTheOtherWayRound()
    {
        var earlier = new StreamPosition(long.MinValue, [new PartitionPosition(1, 100, 7)]);
        var later = new StreamPosition(long.MinValue, [new PartitionPosition(1, 200, 9)]);
        var sameInstantOtherLine = new StreamPosition(long.MinValue, [new PartitionPosition(1, 100, 8)]);
        Assert.True(CatchUp.Covers(earlier, later));
        Assert.False(CatchUp.Covers(later, earlier));
        Assert.False(CatchUp.Covers(earlier, sameInstantOtherLine));
        // A partition only the earlier one names that the later one's floor has not passed: its lines would be missing.
        var twoTasks = new StreamPosition(long.MinValue, [new PartitionPosition(1, 100, 7), new PartitionPosition(2, 150, 3)]);
        Assert.False(CatchUp.Covers(twoTasks, later));
    }
}
