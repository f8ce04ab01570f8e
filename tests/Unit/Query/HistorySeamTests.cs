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

        Assert.Equal(["n2 err", "n3 err", "n4 err"], events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text));
        Assert.DoesNotContain(events, e => e.Kind == StreamEventKind.Gap);
    }

    [Fact]
    public async Task FilteredTail_Service_LinesOfAReplicaOlderThanItsBufferButNewerThanTheBuffersOldest_Found()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        await using var viewer = await Viewer(0);
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

        Assert.Equal(["a2 err", "a3 err", "b1 err"], events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text));
    }

    [Fact]
    public async Task FilteredTail_Service_SlowReplicasLaterStampedLineDroppedFromTheBuffer_FoundOnce()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        await using var viewer = await Viewer(0);
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

        Assert.Equal(["b1 err", "a1 err"], events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text));
    }

    [Fact]
    public async Task FilteredTail_Service_ReplicasFirstBufferedLineInAnOlderWindow_NotRepeated()
    {
        _pipeline.Source.TailPartitionKey = "task_id";
        await using var viewer = await Viewer(0);
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

        Assert.Equal(["a1 err", "a2 err", "b1 err", "a3 err"], events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text));
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
        _pipeline.Source.TailPartitionKey = "task_id";
        var viewer = await Viewer(0);
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
        _pipeline.Source.TailPartitionKey = "task_id";
        await using var viewer = await Viewer(0);
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

    /// <summary>Every history read breaks after the lines up to <paramref name="breaksAfter"/> with a daemon error marker stamped <paramref name="now"/>, as DockerLogReader stamps one.</summary>
    private sealed class FailingHistory(ILogSource inner, LogTimestamp breaksAfter, LogTimestamp now) : ILogSource
    {
        public LogSourceType SourceType => inner.SourceType;
        public string? TailPartitionKey => inner.TailPartitionKey;
        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => inner.ResolveAsync(hostId, resource, cancellationToken);

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var record in inner.ReadAsync(key, start, cancellationToken))
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
    private sealed class CountingSource(ILogSource inner) : ILogSource
    {
        public int Given;
        public bool Disposed;
        public LogSourceType SourceType => inner.SourceType;
        public string? TailPartitionKey => inner.TailPartitionKey;
        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => inner.ResolveAsync(hostId, resource, cancellationToken);

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var record in inner.ReadAsync(key, start, cancellationToken))
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
}
