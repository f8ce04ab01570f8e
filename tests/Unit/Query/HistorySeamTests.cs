using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Query;

/// <summary>
/// Where a read of older lines from the source (the backward scan of a filtered tail) hands over to the replay buffer:
/// lines of the buffer's oldest instant and a slower replica's lines stamped after the buffer's oldest line must be
/// found once, neither lost nor repeated; the source's gap markers come through; a service window stops reading.
/// </summary>
public sealed class HistorySeamTests : IAsyncLifetime
{
    private static readonly long Origin = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero)).UnixNanoseconds;
    private readonly PipelineHarness _pipeline = new(o => o.ReplayEntries = 3);
    private ILogSource? _querySource;

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _pipeline.DisposeAsync();

    private static LogTimestamp At(int second) => new(Origin + second * 1_000_000_000L);

    private static LineFilter Matching(string pattern) =>
        new(LinePattern.TryCreate(pattern, new QueryOptions(), out _), null, null, null, null, null);

    private LogQueries Queries(QueryOptions? options = null) =>
        new(_pipeline.Manager, new LogSourceRegistry([_querySource ?? _pipeline.Source]), Microsoft.Extensions.Options.Options.Create(_pipeline.Options),
            Microsoft.Extensions.Options.Options.Create(options ?? new QueryOptions()), _pipeline.Time, _pipeline.Metrics);

    /// <summary>Opens the shared stream and waits until its buffer has taken every line written so far.</summary>
    private async Task<LogSubscription> Viewer(int lines)
    {
        var viewer = await _pipeline.Subscribe(tail: 0);
        await PipelineHarness.Read(viewer, lines);
        return viewer;
    }

    /// <summary>The same for a service: lines are partitioned by task (<c>task_id</c>), as Docker counts a service's tail.</summary>
    private Task<LogSubscription> ServiceViewer()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        return Viewer(0);
    }

    private async Task<List<StreamEvent>> FilteredTail(string pattern, int tail, QueryOptions? options = null)
    {
        var opening = await Queries(options).OpenAsync(PipelineHarness.Key, new SubscriptionRequest(tail, Follow: true, null), Matching(pattern), CancellationToken.None);
        await opening.FillAsync(null, CancellationToken.None);
        // The history (the buffer's lines and what the scan found before them) is there at once: read without waiting.
        var events = new List<StreamEvent>();
        while (opening.Subscription.TryRead(out var e))
            events.Add(e);
        await opening.Subscription.DisposeAsync();
        return events;
    }

    [Fact]
    public async Task FilteredTail_LinesOfTheBuffersOldestInstant_FoundOnceEach()
    {
        await using var viewer = await Viewer(0);
        // n2..n4 share one instant; the buffer (3 lines) keeps n4 of them: n2 and n3 are older than the buffer.
        _pipeline.Source.Write("n1 err", At(1));
        _pipeline.Source.Write("n2 err", At(3));
        _pipeline.Source.Write("n3 err", At(3));
        _pipeline.Source.Write("n4 err", At(3));
        _pipeline.Source.Write("n5 ok", At(4));
        _pipeline.Source.Write("n6 ok", At(5));
        await PipelineHarness.Read(viewer, 6);

        var events = await FilteredTail("err", tail: 3);

        Assert.Equal(["n2 err", "n3 err", "n4 err"], PipelineHarness.Texts(events));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task FilteredTail_Service_LinesOfAReplicaOlderThanItsBufferButNewerThanTheBuffersOldest_Found()
    {
        await using var viewer = await ServiceViewer();
        // Replica b is slow: its line stamped 5 s arrives after a's lines of 10-12 s. a keeps its newest 3 (13-15 s) in
        // the buffer, b its one line: the buffer's oldest line is b's (5 s), and a's 10-12 s are older than a's part only.
        _pipeline.Source.Write("a1 err", At(10), "a");
        _pipeline.Source.Write("a2 err", At(11), "a");
        _pipeline.Source.Write("a3 err", At(12), "a");
        _pipeline.Source.Write("b1 err", At(5), "b");
        _pipeline.Source.Write("a4 ok", At(13), "a");
        _pipeline.Source.Write("a5 ok", At(14), "a");
        _pipeline.Source.Write("a6 ok", At(15), "a");
        await PipelineHarness.Read(viewer, 7);

        var events = await FilteredTail("err", tail: 3);

        Assert.Equal(["a2 err", "a3 err", "b1 err"], PipelineHarness.Texts(events));
    }

    [Fact]
    public async Task FilteredTail_Service_SlowReplicasLaterStampedLineDroppedFromTheBuffer_FoundOnce()
    {
        await using var viewer = await ServiceViewer();
        // b's line stamped 30 s came before a's lines of 20-25 s and is out of b's part of the buffer (b has a newer
        // line); a reading up to the buffer's oldest instant (20 s) misses it.
        _pipeline.Source.Write("b1 err", At(30), "b");
        _pipeline.Source.Write("b2 ok", At(31), "b");
        _pipeline.Source.Write("b3 ok", At(32), "b");
        _pipeline.Source.Write("b4 ok", At(33), "b");
        _pipeline.Source.Write("a1 err", At(20), "a");
        _pipeline.Source.Write("a2 ok", At(21), "a");
        _pipeline.Source.Write("a3 ok", At(22), "a");
        await PipelineHarness.Read(viewer, 7);

        var events = await FilteredTail("err", tail: 2);

        Assert.Equal(["b1 err", "a1 err"], PipelineHarness.Texts(events));
    }

    [Fact]
    public async Task FilteredTail_Service_ReplicasFirstBufferedLineInAnOlderWindow_NotRepeated()
    {
        await using var viewer = await ServiceViewer();
        // a's part of the buffer begins at 3 s, b's at 21 s: the scan's first window (1 s) ends at 21 s, and a's seam
        // lies in a window five doublings older, which must hand over too (a3 is the buffer's, not the scan's).
        _pipeline.Source.Write("a1 err", At(1), "a");
        _pipeline.Source.Write("a2 err", At(2), "a");
        _pipeline.Source.Write("a3 err", At(3), "a");
        _pipeline.Source.Write("a4 ok", At(4), "a");
        _pipeline.Source.Write("a5 ok", At(5), "a");
        _pipeline.Source.Write("b1 err", At(20), "b");
        _pipeline.Source.Write("b2 ok", At(21), "b");
        _pipeline.Source.Write("b3 ok", At(22), "b");
        _pipeline.Source.Write("b4 ok", At(23), "b");
        await PipelineHarness.Read(viewer, 9);

        var events = await FilteredTail("err", tail: 4, new QueryOptions { ScanInitialWindow = TimeSpan.FromSeconds(1) });

        Assert.Equal(["a1 err", "a2 err", "b1 err", "a3 err"], PipelineHarness.Texts(events));
    }

    [Fact]
    public async Task FilteredTail_Service_ReplicasOlderLinesComeAfterAChunkOfAnothers_ScanReachesThem()
    {
        await using var viewer = await ServiceViewer();
        // a's newer lines come first in a read of the log (more than a chunk of them), b's older ones after: the first
        // chunk alone would put the log's beginning at a's first line, after b's matching line.
        for (var i = 0; i < ChunkedRead.MaxRecords + 10; i++)
            _pipeline.Source.Write($"a{i} ok", new LogTimestamp(At(100).UnixNanoseconds + i * 1000L), "a");
        _pipeline.Source.Write("b1 err", At(10), "b");
        for (var i = 2; i <= 4; i++)
            _pipeline.Source.Write($"b{i} ok", At(9 + i), "b");
        await PipelineHarness.Read(viewer, ChunkedRead.MaxRecords + 14);

        var events = await FilteredTail("err", tail: 1, new QueryOptions { ScanInitialWindow = TimeSpan.FromSeconds(1) });

        Assert.Equal(["b1 err"], PipelineHarness.Texts(events));
    }

    [Fact]
    public async Task FilteredTail_SourceGapMarkerAmongOlderLines_PassedThrough()
    {
        await using var viewer = await Viewer(0);
        _pipeline.Source.Write("n1 err", At(1));
        _pipeline.Source.Append(SourceRecord.IncompleteMarker(At(2), "incomplete log stream"));
        _pipeline.Source.Write("n2 err", At(3));
        _pipeline.Source.Write("n3 ok", At(4));
        _pipeline.Source.Write("n4 ok", At(5));
        _pipeline.Source.Write("n5 ok", At(6));
        _pipeline.Source.Write("n6 ok", At(7));
        await PipelineHarness.Read(viewer, 6);

        var events = await FilteredTail("err", tail: 5);

        Assert.Equal(["n1 err", "incomplete log stream", "n2 err"], events.Where(e => e.Entry is not null).Select(e => e.Entry!.Text));
        Assert.Equal(GapReason.SourceIncomplete, Assert.Single(events, e => e.Kind == StreamEventKind.Gap).GapReason);
    }

    [Fact]
    public async Task FilteredTail_ScanOverReadMaxBytes_CappedWithTheNewestLinesThatFit()
    {
        await using var viewer = await Viewer(0);
        for (var i = 1; i <= 20; i++)
            _pipeline.Source.Write($"n{i} err {new string('x', 1000)}", At(i));
        for (var i = 21; i <= 23; i++)
            _pipeline.Source.Write($"n{i} ok", At(i));
        await PipelineHarness.Read(viewer, 23);
        var options = new QueryOptions { ReadMaxBytes = 32 * 1024 };

        var opening = await Queries(options).OpenAsync(PipelineHarness.Key, new SubscriptionRequest(20, Follow: true, null), Matching("err"), CancellationToken.None);
        var reports = new List<ScanProgress>();
        await opening.FillAsync(p => { reports.Add(p); return ValueTask.CompletedTask; }, CancellationToken.None);
        var lines = new List<string>();
        while (opening.Subscription.TryRead(out var e))
            lines.Add(e.Entry!.Text[..e.Entry.Text.IndexOf(' ')]);
        await opening.Subscription.DisposeAsync();

        Assert.Equal(ScanState.Capped, reports[^1].State);
        // Each line holds a few KiB (its text and its frames): some of the newest fit, not all 20.
        Assert.InRange(lines.Count, 1, 19);
        Assert.Equal(Enumerable.Range(21 - lines.Count, lines.Count).Select(n => $"n{n}"), lines);
        Assert.Equal(lines.Count, reports[^1].Found);
    }

    private async Task<List<string>> Range(LogTimestamp since, bool follow)
    {
        var filter = new LineFilter(null, null, null, null, since, null);
        var opening = await Queries().OpenAsync(PipelineHarness.Key, new SubscriptionRequest(0, Follow: follow, null), filter, CancellationToken.None);
        await opening.FillAsync(null, CancellationToken.None);
        var events = new List<StreamEvent>();
        if (follow)
        {
            // The history (the buffer's lines and what was read before them) is there at once.
            while (opening.Subscription.TryRead(out var e))
                events.Add(e);
        }
        else
            events = await PipelineHarness.ReadToEnd(opening.Subscription);
        await opening.Subscription.DisposeAsync();
        return [.. events.Where(e => e.Entry is not null).Select(e => e.Entry!.Text)];
    }

    /// <summary>Quiet b's one buffered line (0 s) is the buffer's oldest, chatty a's part starts at 50 s: a range from 10 s still needs a's 10-49 s from Docker.</summary>
    private async Task<LogSubscription> TwoReplicasWhoseBufferPartsStartApart()
    {
        var viewer = await ServiceViewer();
        _pipeline.Source.Write("a10", At(10), "a");
        _pipeline.Source.Write("a20", At(20), "a");
        _pipeline.Source.Write("a30", At(30), "a");
        _pipeline.Source.Write("b0", At(0), "b");
        _pipeline.Source.Write("a50", At(50), "a");
        _pipeline.Source.Write("a51", At(51), "a");
        await PipelineHarness.Read(viewer, 6);
        return viewer;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Range_Service_BufferPartsStartAtDifferentTimes_ChattyReplicasOlderLinesRead(bool follow)
    {
        await using var viewer = await TwoReplicasWhoseBufferPartsStartApart();

        var lines = await Range(At(10), follow);

        Assert.Equal(["a10", "a20", "a30"], lines.Where(l => l.StartsWith('a')).Take(3));
        Assert.Equal(["a10", "a20", "a30", "a50", "a51"], lines.Where(l => l.StartsWith('a')));
        Assert.DoesNotContain("b0", lines);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Range_Container_BufferStartsAtExactlySince_DroppedLinesOfThatInstantRead(bool follow)
    {
        await using var viewer = await Viewer(0);
        // n2..n4 share 3 s; the buffer (3 lines) keeps n3, n4 and n5: n2 is of the range's first instant, older than the buffer.
        _pipeline.Source.Write("n1", At(1));
        _pipeline.Source.Write("n2", At(3));
        _pipeline.Source.Write("n3", At(3));
        _pipeline.Source.Write("n4", At(3));
        _pipeline.Source.Write("n5", At(4));
        await PipelineHarness.Read(viewer, 5);

        var lines = await Range(At(3), follow);

        Assert.Equal(["n2", "n3", "n4", "n5"], lines);
    }

    [Fact]
    public async Task WindowRead_ServiceWithoutUntil_StopsOnceItsLinesPassTheWindowsEnd()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        for (var i = 0; i < 10; i++)
            _pipeline.Source.Write($"in {i}", At(i), i % 2 == 0 ? "a" : "b");
        for (var i = 0; i < 20_000; i++)
            _pipeline.Source.Write($"after {i}", new LogTimestamp(At(100).UnixNanoseconds + i), i % 2 == 0 ? "a" : "b");
        var counting = new CountingSource(_pipeline.Source);

        var lines = new List<string>();
        await foreach (var record in WindowRead.ReadAsync(counting, PipelineHarness.Key, At(0), At(50), _pipeline.Options, new QueryOptions(), null, CancellationToken.None))
            lines.Add(record.Text);

        Assert.Equal(10, lines.Count);
        // Both replicas passed the end at their first later line: the read stopped there and was cancelled.
        Assert.InRange(counting.Given, 10, 12);
        Assert.True(counting.Disposed);
    }

    [Theory]
    [InlineData(LogSourceType.Container)]
    [InlineData(LogSourceType.Service)]
    public async Task WindowRead_SourceMarkerStampedAfterTheWindow_YieldedInsideIt(LogSourceType type)
    {
        if (type == LogSourceType.Service)
            _pipeline.Source.TailPartitionKey = "task_id";
        _pipeline.Source.Write("in 1", At(1), "a");
        // The daemon's error comes with the read's time (now), after the window's end.
        _pipeline.Source.Append(SourceRecord.IncompleteMarker(At(500), "daemon error"));
        _pipeline.Source.Write("after", At(600), "a");

        var records = new List<SourceRecord>();
        await foreach (var record in WindowRead.ReadAsync(_pipeline.Source, PipelineHarness.Key, At(0), At(50), _pipeline.Options, new QueryOptions(), null, CancellationToken.None))
            records.Add(record);

        var marker = Assert.Single(records, r => r.Incomplete is not null);
        Assert.Equal(At(50), marker.Timestamp);
        Assert.Equal(["in 1", "daemon error"], records.Select(r => r.Text));
    }

    [Fact]
    public async Task FilteredTail_ServiceDaemonErrorStampedNow_MarkerReachesTheClient()
    {
        await using var viewer = await ServiceViewer();
        _pipeline.Source.Write("a1 err", At(1), "a");
        _pipeline.Source.Write("a2 ok", At(2), "a");
        _pipeline.Source.Write("a3 ok", At(3), "a");
        _pipeline.Source.Write("a4 ok", At(4), "a");
        await PipelineHarness.Read(viewer, 4);
        // Each read of history (the scan's) breaks after a1 with a daemon error, stamped with the read's time: after its window.
        _querySource = new FailingHistory(_pipeline.Source, breaksAfter: At(1), now: At(10_000));

        var events = await FilteredTail("err", tail: 2);

        Assert.Equal(GapReason.SourceIncomplete, Assert.Single(events, e => e.Kind == StreamEventKind.Gap).GapReason);
    }

    [Fact]
    public async Task WindowRead_Service_SlowReplicasWindowLinesAfterManyOfAFastOnesLaterLines_AllRead()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        // a gave 10 lines of the window and then 3 x RepeatWindowEntries later ones before slow b's lines of the window arrive.
        for (var i = 0; i < 10; i++)
            _pipeline.Source.Write($"a{i}", At(i), "a");
        _pipeline.Source.Write("b0", At(0), "b");
        for (var i = 0; i < 3 * _pipeline.Options.RepeatWindowEntries; i++)
            _pipeline.Source.Write($"a-after {i}", new LogTimestamp(At(100).UnixNanoseconds + i), "a");
        for (var i = 1; i <= 5; i++)
            _pipeline.Source.Write($"b{i}", At(10 + i), "b");
        _pipeline.Source.Write("b-after", At(101), "b");
        for (var i = 0; i < 20_000; i++)
            _pipeline.Source.Write($"later {i}", new LogTimestamp(At(200).UnixNanoseconds + i), i % 2 == 0 ? "a" : "b");
        var counting = new CountingSource(_pipeline.Source);

        var lines = new List<string>();
        await foreach (var record in WindowRead.ReadAsync(counting, PipelineHarness.Key, At(0), At(50), _pipeline.Options, new QueryOptions(), null, CancellationToken.None))
            lines.Add(record.Text);

        Assert.Equal(16, lines.Count);
        Assert.Equal(["b1", "b2", "b3", "b4", "b5"], lines.Where(l => l.StartsWith('b') && l != "b0"));
        // Both replicas passed the end: the read stopped there, not at the end of the log.
        Assert.True(counting.Given < 16 + 3 * _pipeline.Options.RepeatWindowEntries + 10);
        Assert.True(counting.Disposed);
    }

    [Fact]
    public async Task WindowRead_Service_ReplicaListedByTheSeamNeverPassesTheEnd_StopsAtTheCapWithAMarker()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        for (var i = 0; i < 10; i++)
            _pipeline.Source.Write($"a{i}", At(i), "a");
        for (var i = 0; i < 20_000; i++)
            _pipeline.Source.Write($"a-after {i}", new LogTimestamp(At(100).UnixNanoseconds + i), "a");
        var b = PositionTracker.PartitionOf(new SourceRecord(At(0), false, OutputStream.Stdout, "", LogSeverity.Info,
            new Dictionary<string, string> { ["task_id"] = "b" }), "task_id");
        var options = new QueryOptions { WindowReadPastLines = 5_000 };
        var counting = new CountingSource(_pipeline.Source);

        var records = new List<SourceRecord>();
        await foreach (var record in WindowRead.ReadAsync(counting, PipelineHarness.Key, At(0), At(50), _pipeline.Options, options, [b], CancellationToken.None))
            records.Add(record);

        Assert.Equal(11, records.Count);
        var marker = records[^1];
        Assert.NotNull(marker.Incomplete);
        Assert.Equal(At(50), marker.Timestamp);
        Assert.InRange(counting.Given, 10 + 5_000, 10 + 5_001);
        Assert.True(counting.Disposed);
    }

    /// <summary>Reads a subscription until the entry <paramref name="last"/> (the test's sentinel) has come, and everything before it.</summary>
    private static async Task<List<string>> ReadUntil(LogSubscription subscription, string last)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var lines = new List<string>();
        while (!lines.Contains(last) && await subscription.WaitToReadAsync(cts.Token))
        {
            while (!lines.Contains(last) && subscription.TryRead(out var e))
            {
                Assert.NotEqual(StreamEventKind.Gap, e.Kind);
                if (e.Entry is not null)
                    lines.Add(e.Entry.Text);
            }
        }
        return lines;
    }

    [Fact]
    public async Task FollowedRange_Service_ReplicaTheLiveReadHasNotDeliveredYet_EachLineOnce()
    {
        await using var service = new LaggingService(_pipeline);
        for (var i = 1; i <= 4; i++)
            _pipeline.Source.Write($"a{i}", At(9 + i), "a");
        // The history read gives a2..a4 (3 per task); the live read starts a margin (2 s) before a4: at 11 s.
        await using var viewer = await service.ViewerAsync();
        // Replica b's lines reach Docker but not yet the live read: one stamped before the live read's start (it never
        // will: Docker's since), one after it (it will, later). Then a's newer lines push a's part of the buffer to 14 s.
        service.Source.Hold("b");
        _pipeline.Source.Write("b-early", new LogTimestamp(At(10).UnixNanoseconds + 500_000_000), "b");
        _pipeline.Source.Write("b-mid", At(13), "b");
        for (var i = 5; i <= 7; i++)
            _pipeline.Source.Write($"a{i}", At(9 + i), "a");
        await PipelineHarness.Read(viewer, 3);

        var lines = await service.JoinThenReleaseAsync(new SubscriptionRequest(0, Follow: true, null), new LineFilter(null, null, null, null, At(10), null), "a8", At(17));

        Assert.Equal(["a1", "a2", "a3", "a4", "b-early", "a5", "a6", "a7", "b-mid", "a8"], lines);
    }

    [Fact]
    public async Task FilteredTail_QuietService_ReplicasFirstLineNotDeliveredLiveYet_ComesOnceLive()
    {
        await using var service = new LaggingService(_pipeline);
        // Nothing written yet: the history is empty and the live read gives every line.
        await using var viewer = await service.ViewerAsync();
        service.Source.Hold("b");
        _pipeline.Source.Write("b1 err", At(5), "b");

        var lines = await service.JoinThenReleaseAsync(new SubscriptionRequest(5, Follow: true, null), Matching("err"), "a1 err", At(6));

        Assert.Equal(["b1 err", "a1 err"], lines);
    }

    [Fact]
    public async Task FilteredTail_Service_MoreBusyReplicasThanThePositionHolds_NewReplicasHeldLineAtOrBeforeTheFloor_ComesOnceLive()
    {
        // Three busy replicas and room for two in the position: each new line pushes the quietest into the floor, which
        // passes the live read's start (8 s) and stands at 13 s. A new replica d's first line (12 s) is still held: the
        // floor says nothing about d (the stream never passed a line of it), and the live read gives it.
        _pipeline.Options.CursorPartitions = 2;
        await using var service = new LaggingService(_pipeline);
        _pipeline.Source.Write("a1 err", At(10), "a");
        await using var viewer = await service.ViewerAsync();
        service.Source.Hold("d");
        _pipeline.Source.Write("b1 err", At(11), "b");
        _pipeline.Source.Write("c1 err", At(12), "c");
        _pipeline.Source.Write("a2 err", At(13), "a");
        _pipeline.Source.Write("b2 err", At(14), "b");
        _pipeline.Source.Write("c2 err", At(15), "c");
        _pipeline.Source.Write("d1 err", new LogTimestamp(At(12).UnixNanoseconds + 500_000_000), "d");
        await PipelineHarness.Read(viewer, 5);

        var lines = await service.JoinThenReleaseAsync(new SubscriptionRequest(20, Follow: true, null), Matching("err"), "a3 err", At(16), held: "d");

        Assert.Equal(["a1 err", "b1 err", "c1 err", "a2 err", "b2 err", "c2 err", "d1 err", "a3 err"], lines);
    }

    [Fact]
    public async Task FilteredTail_Service_TailsDroppedAReplica_ItsLinesUpToTheFloorFoundByTheScan()
    {
        // Room for two replicas in the tails and in the position: a (10 s) goes from both when c comes; the history no
        // longer holds a line of it, and only the stream's floor (10 s) says its lines were passed on.
        _pipeline.Options.CursorPartitions = 2;
        _pipeline.Options.TailPartitions = 2;
        _pipeline.Source.TailPartitionKey = "task_id";
        _pipeline.Source.Write("a1 err", At(10), "a");
        await using var viewer = await ServiceViewer();
        _pipeline.Source.Write("b1 err", At(11), "b");
        _pipeline.Source.Write("c1 err", At(12), "c");
        await PipelineHarness.Read(viewer, 2);

        var events = await FilteredTail("err", tail: 5);

        Assert.Equal(["a1 err", "b1 err", "c1 err"], PipelineHarness.Texts(events));
    }

    [Fact]
    public async Task FilteredTail_Service_HeldLineStampedExactlyAtTheLiveReadsStart_ComesOnceLive()
    {
        await using var service = new LaggingService(_pipeline);
        // The live read starts a margin (2 s) before a1: at 8 s, inclusive. b's line of exactly that instant comes live.
        _pipeline.Source.Write("a1 err", At(10), "a");
        await using var viewer = await service.ViewerAsync();
        service.Source.Hold("b");
        _pipeline.Source.Write("b1 err", At(8), "b");

        var lines = await service.JoinThenReleaseAsync(new SubscriptionRequest(5, Follow: true, null), Matching("err"), "a2 err", At(11));

        Assert.Equal(["a1 err", "b1 err", "a2 err"], lines);
    }

    [Fact]
    public async Task FilteredTail_Service_AfterAReopen_HeldLineStampedBetweenTheReadsStarts_FoundOnceByTheScan()
    {
        _pipeline.Options.RetryInitialBackoff = TimeSpan.FromSeconds(1);
        await using var service = new LaggingService(_pipeline);
        // The first live read starts at 8 s (a1 at 10 s). Replica b's line of 15 s is held by it, then the read breaks;
        // the reopened read starts at 18 s (a4 at 20 s) and never gives b's line: from its first lines on, the scan must.
        _pipeline.Source.Write("a1 err", At(10), "a");
        await using var viewer = await service.ViewerAsync();
        _pipeline.Source.Write("a2 err", At(16), "a");
        _pipeline.Source.Write("a3 err", At(17), "a");
        service.Source.Hold("b");
        _pipeline.Source.Write("b1 err", At(15), "b");
        _pipeline.Source.Write("a4 err", At(20), "a");
        await PipelineHarness.Read(viewer, 3);
        _pipeline.Source.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => service.State == UpstreamState.Retrying, "the retry");
        await Eventually.True(() => _pipeline.Time.TimersCreated(TimeSpan.FromSeconds(1)) == 1, "the backoff to start");
        _pipeline.Time.Advance(TimeSpan.FromSeconds(1));
        _pipeline.Source.Write("a5 err", At(21), "a");
        Assert.Equal(["a5 err"], PipelineHarness.Texts(await PipelineHarness.Read(viewer, 1)));

        var lines = await service.JoinThenReleaseAsync(new SubscriptionRequest(10, Follow: true, null), Matching("err"), "a6 err", At(22));

        Assert.Equal(["a1 err", "a2 err", "b1 err", "a3 err", "a4 err", "a5 err", "a6 err"], lines);
    }

    /// <summary>A service's shared stream and queries read through a <see cref="LaggingLiveSource"/> over the harness's fake.</summary>
    private sealed class LaggingService : IAsyncDisposable
    {
        private readonly PipelineHarness _pipeline;
        private readonly LogStreamManager _manager;
        private readonly LogQueries _queries;

        public LaggingService(PipelineHarness pipeline)
        {
            _pipeline = pipeline;
            pipeline.Source.TailPartitionKey = "task_id";
            Source = new LaggingLiveSource(pipeline.Source);
            var registry = new LogSourceRegistry([Source]);
            var options = Microsoft.Extensions.Options.Options.Create(pipeline.Options);
            _manager = new LogStreamManager(registry, options, pipeline.Time, pipeline.Metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger<LogStreamManager>.Instance);
            _queries = new LogQueries(_manager, registry, options, Microsoft.Extensions.Options.Options.Create(new QueryOptions()), pipeline.Time, pipeline.Metrics);
        }

        public LaggingLiveSource Source { get; }

        /// <summary>Opens the shared stream (its history read gives what was written so far) and keeps it open.</summary>
        public Task<LogSubscription> ViewerAsync() => _manager.SubscribeAsync(PipelineHarness.Key, new SubscriptionRequest(0, Follow: true, null), CancellationToken.None);

        /// <summary>The shared stream's state (one stream).</summary>
        public UpstreamState State => _manager.ListStreams().Single().State;

        /// <summary>A client joins while <paramref name="held"/> is held; then it is released and a writes <paramref name="sentinel"/>: what the client got up to it.</summary>
        public async Task<List<string>> JoinThenReleaseAsync(SubscriptionRequest request, LineFilter filter, string sentinel, LogTimestamp at, string held = "b")
        {
            var opening = await _queries.OpenAsync(PipelineHarness.Key, request, filter, CancellationToken.None);
            await using var subscription = opening.Subscription;
            await opening.FillAsync(null, CancellationToken.None);
            Source.Release(held);
            _pipeline.Source.Write(sentinel, at, "a");
            return await ReadUntil(subscription, sentinel);
        }

        public ValueTask DisposeAsync() => _manager.DisposeAsync();
    }

    /// <summary>
    /// Docker's live read as a client joining meets it: lines stamped before the read's <c>since</c> never come (Docker
    /// filters each line; the fake only finds where to start), and a held partition's lines are kept back (a replica the
    /// live read has not delivered yet: the merge window, a slower node) while reads of history already see them. Once
    /// released, they come before the next line the live read gives.
    /// </summary>
    private sealed class LaggingLiveSource(FakeLogSource inner) : SourceDecorator(inner)
    {
        private readonly Lock _gate = new();
        private readonly HashSet<string> _held = [];

        public void Hold(string partition)
        {
            lock (_gate)
                _held.Add(partition);
        }

        public void Release(string partition)
        {
            lock (_gate)
                _held.Remove(partition);
        }

        public override async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var kept = new List<SourceRecord>();
            await foreach (var record in Inner.ReadAsync(key, start, cancellationToken))
            {
                if (!start.Follow)
                {
                    yield return record;
                    continue;
                }
                if (record.Incomplete is null && start.Since is { } since && record.Timestamp < since)
                    continue;
                List<SourceRecord> due;
                lock (_gate)
                {
                    if (_held.Contains(record.Metadata?.GetValueOrDefault("task_id") ?? ""))
                    {
                        kept.Add(record);
                        continue;
                    }
                    due = kept.Where(k => !_held.Contains(k.Metadata?.GetValueOrDefault("task_id") ?? "")).ToList();
                    kept.RemoveAll(due.Contains);
                }
                foreach (var released in due)
                    yield return released;
                yield return record;
            }
        }
    }

    /// <summary>Every history read breaks after the lines up to <paramref name="breaksAfter"/> with a daemon error marker stamped <paramref name="now"/>, as DockerLogReader stamps one.</summary>
    private sealed class FailingHistory(ILogSource inner, LogTimestamp breaksAfter, LogTimestamp now) : SourceDecorator(inner)
    {
        public override async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var record in Inner.ReadAsync(key, start, cancellationToken))
            {
                if (!start.Follow && record.Timestamp > breaksAfter)
                {
                    yield return SourceRecord.IncompleteMarker(now, "daemon error");
                    yield break;
                }
                yield return record;
            }
        }
    }

    [Fact]
    public void ScanWindow_OverReadMaxBytesWhileRead_HoldsAtMostTheBudgetAndSaysCapped()
    {
        var window = new HistoryScan.WindowLines(room: 1_000, byteRoom: 16 * 1024);
        var held = new List<long>();
        for (var i = 0; i < 100; i++)
        {
            window.Add(new LogEntry(PipelineHarness.Key, 0, "", new SourceRecord(At(i), false, OutputStream.Stdout, $"n{i} {new string('x', 1000)}", LogSeverity.Info)));
            held.Add(window.Bytes);
        }

        Assert.All(held, bytes => Assert.True(bytes <= 16 * 1024, $"held {bytes} bytes"));
        Assert.True(window.Capped);
        var kept = window.Entries.Select(e => e.Text[..e.Text.IndexOf(' ')]).ToList();
        Assert.InRange(kept.Count, 1, 99);
        Assert.Equal(Enumerable.Range(100 - kept.Count, kept.Count).Select(n => $"n{n}"), kept);
    }

    /// <summary>Counts the lines a read gave before it was stopped.</summary>
    private sealed class CountingSource(ILogSource inner) : SourceDecorator(inner)
    {
        public int Given;
        public bool Disposed;

        public override async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var record in Inner.ReadAsync(key, start, cancellationToken))
                {
                    Given++;
                    yield return record;
                }
            }
            finally
            {
                Disposed = true;
            }
        }
    }

    /// <summary>A source that reads another: what the wrappers above change is how a read goes, nothing else.</summary>
    private abstract class SourceDecorator(ILogSource inner) : ILogSource
    {
        protected ILogSource Inner { get; } = inner;
        public LogSourceType SourceType => Inner.SourceType;
        public string? TailPartitionKey => Inner.TailPartitionKey;
        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => Inner.ResolveAsync(hostId, resource, cancellationToken);
        public abstract IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, CancellationToken cancellationToken);
    }
}
