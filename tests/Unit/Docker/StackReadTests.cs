using System.Runtime.CompilerServices;
using LogsMigration.Docker.Stacks;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogsMigration.Tests.Unit.Docker;

/// <summary>
/// The rules of a stack's read over a fake membership (our own <see cref="StackMembership"/>): a member's failure is
/// that member's alone, a member that breaks is reopened from its own last line, every member's read is over when the
/// stack's is, and a member that ran and exited between two listings is still read.
/// </summary>
public sealed class StackReadTests
{
    private static readonly LogTimestamp Origin = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(1);
    private readonly RecordingTimeProvider _time = new();
    private readonly FakeMembership _members = new();

    [Fact]
    public async Task AMembersFailure_EndsOnlyItsLines_WithAMarkerNamingIt_TheOthersGoOn()
    {
        var a = _members.Add("a");
        var b = _members.Add("b");
        a.Write(1, "a1");
        b.Write(2, "b1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Count(x => x.Incomplete is null) == 2, "the first lines of both");

        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "boom"));
        b.Write(3, "b2");
        await read.WaitForAsync(r => r.Any(x => x.Incomplete is not null) && r.Any(x => x.Text == "b2"), "a's marker and b's next line");
        b.Write(4, "b3");
        await read.WaitForAsync(r => r.Any(x => x.Text == "b3"), "b going on after a's failure");

        var marker = Assert.Single(read.Records, r => r.Incomplete is not null);
        Assert.Contains("member a failed (boom)", marker.Text, StringComparison.Ordinal);
        Assert.Equal("a", marker.Metadata![StackLabels.ReplicaIdMetadata]);
        Assert.False(read.Completion.IsCompleted);
        Assert.Equal(["a1"], read.Records.Where(r => r.Incomplete is null && r.Text.StartsWith('a')).Select(r => r.Text));
    }

    [Fact]
    public async Task AMemberThatBreaks_IsReopenedFromItsOwnLastLine_NotTheStacks_NothingSkippedOrRepeated()
    {
        var behind = _members.Add("behind");
        var ahead = _members.Add("ahead");
        behind.Write(1, "x1");
        behind.Write(2, "x2");
        // Far more than any seam margin ahead of the other member.
        ahead.Write(600_000_000, "y1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 3, "the first lines");

        behind.Fail(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => _time.TimersCreated(Backoff) == 1, "the member's backoff");
        behind.Write(3, "x3");
        _time.Advance(Backoff);
        await read.WaitForAsync(r => r.Any(x => x.Text == "x3"), "the behind member's next line after its reopen");
        ahead.Write(600_000_001, "y2");
        await read.WaitForAsync(r => r.Any(x => x.Text == "y2"), "the other member going on");

        Assert.Equal(2, behind.Starts.Count);
        // The seam margin before its own last line (a line stamped a little earlier may be written after it).
        Assert.Equal(Origin.UnixNanoseconds + 2 - MarginNanos, behind.Starts[1].Since!.Value.UnixNanoseconds);
        Assert.Single(ahead.Starts);
        Assert.Equal(["x1", "x2", "x3"], read.Records.Where(r => r.Text.StartsWith('x')).Select(r => r.Text));
        Assert.DoesNotContain(read.Records, r => r.Incomplete is not null);
    }

    [Fact]
    public async Task TheStacksReadOver_EveryMembersReadIsOverToo()
    {
        var a = _members.Add("a");
        var b = _members.Add("b");
        a.Write(1, "a1");
        b.Write(2, "b1");
        var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "both members' lines");
        Assert.Equal(2, _members.OpenReads);

        await read.DisposeAsync().AsTask().WaitAsync(Bound);

        // Not eventually: the stack's read is over only once its members' reads are.
        Assert.Equal(0, _members.OpenReads);
    }

    [Fact]
    public async Task AContainerThatRanAndExitedBetweenTwoListings_IsStillRead()
    {
        _members.RunAgain = true;
        var a = _members.Add("a");
        a.Write(1, "a1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 1, "the first member's line");

        var job = _members.Add("job", running: false);
        job.Write(2, "j1");
        job.Write(3, "j2");
        job.End();
        await _members.ChangedAsync();

        await read.WaitForAsync(r => r.Count(x => x.Text.StartsWith('j')) == 2, "the exited job's lines");
        Assert.Equal(["j1", "j2"], read.Records.Where(r => r.Text.StartsWith('j')).Select(r => r.Text));
    }

    [Fact]
    public async Task TheReadDisposed_WhileItsMembersMayRunAgain_Ends()
    {
        // Compose members may run again: at teardown each member's read ends, and a read that took that for a member
        // to restart (its listing does not look at the token) restarted it over and over instead of ending.
        _members.RunAgain = true;
        _members.Add("a").Write(1, "a1");
        _members.Add("b").Write(2, "b1");
        var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "both members' lines");

        await read.DisposeAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(0, _members.OpenReads);
    }

    [Fact]
    public async Task AStackThatCannotBeListedPastTheGiveUp_MarksTheGap_ThenFailsItsRead()
    {
        var a = _members.Add("a");
        a.Write(1, "a1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 1, "the first line");

        _members.ListFault = new LogSourceException(LogSourceErrorKind.Unavailable, "manager down");
        await _members.ChangedAsync();
        await Eventually.True(() => _time.TimersCreated(PollInterval) == 1, "the listing's retry after a poll");
        _time.Advance(GiveUp);

        var fault = await Assert.ThrowsAsync<LogSourceException>(() => read.Completion.WaitAsync(Bound));
        Assert.Equal("manager down", fault.Message);
        var marker = Assert.Single(read.Records, r => r.Incomplete is not null);
        Assert.Contains("could not be listed", marker.Text, StringComparison.Ordinal);
        // At the newest line passed on, not the clock's time: a marker ahead of the lines would be merged ahead of them.
        Assert.Equal(read.Records[0].Timestamp, marker.Timestamp);
    }

    [Fact]
    public async Task AMemberReopened_GetsALineStampedEarlierButWrittenAfterItsLastLine_AndRepeatsNone()
    {
        var a = _members.Add("a");
        a.Write(Millis(1), "out0");
        a.Write(Millis(10), "out1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "the first lines");

        a.Fail(new LogSourceException(LogSourceErrorKind.Unavailable, "connection reset"));
        await Eventually.True(() => _time.TimersCreated(Backoff) == 1, "the member's backoff");
        // stderr's copier stamped this before stdout's last line but it reached the log after the read broke.
        a.Write(Millis(10) - MarginNanos / 2, "err1", OutputStream.Stderr);
        a.Write(Millis(11), "out2");
        _time.Advance(Backoff);
        await read.WaitForAsync(r => r.Any(x => x.Text == "out2"), "the line after the reopen");

        Assert.Equal(["out0", "out1", "err1", "out2"], read.Records.Select(r => r.Text));
    }

    [Fact]
    public async Task AFailedMember_IsNotRestartedAtOnce_ButAfterTheRetryInterval_FromItsOwnLastLine()
    {
        _members.RunAgain = true;
        var a = _members.Add("a");
        var b = _members.Add("b");
        a.Write(1, "a1");
        a.Write(2, "a2");
        b.Write(3, "b1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 3, "the first lines");

        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "corrupt log file"));
        await read.WaitForAsync(r => r.Any(x => x.Incomplete is not null), "a's marker");
        await Eventually.True(() => _time.TimersCreated(FailedRetry) == 1, "the failed member's retry interval");
        // Two listings, the second only after the first's restarts were decided, with the clock moved to just before
        // the retry is due: a member restarted at once would have its second start by then.
        for (var i = 0; i < 2; i++)
        {
            var listed = _members.Listings;
            if (i == 1)
                _time.Advance(FailedRetry - TimeSpan.FromSeconds(1));
            await _members.ChangedAsync();
            await Eventually.True(() => _members.Listings > listed, "the listing after a membership change");
        }
        Assert.Single(a.Starts);

        a.Write(4, "a3");
        _time.Advance(TimeSpan.FromSeconds(1));
        await read.WaitForAsync(r => r.Any(x => x.Text == "a3"), "a's next line after its retry");

        Assert.Equal(2, a.Starts.Count);
        Assert.Equal(Origin.UnixNanoseconds + 2 - MarginNanos, a.Starts[1].Since!.Value.UnixNanoseconds);
        Assert.Equal(["a1", "a2", "a3"], read.Records.Where(r => r.Incomplete is null && r.Text.StartsWith('a')).Select(r => r.Text));
    }

    [Fact]
    public async Task AFailedMember_ThatRunsAgain_IsRestartedAtOnce_WithoutRepeatingItsLines()
    {
        _members.RunAgain = true;
        var a = _members.Add("a");
        a.Write(1, "a1");
        a.Write(2, "a2");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "the first lines");

        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "corrupt log file"));
        await read.WaitForAsync(r => r.Any(x => x.Incomplete is not null), "a's marker");
        await Eventually.True(() => _time.TimersCreated(FailedRetry) == 1, "the stack to note a's failure and its run");
        a.Run = "second run";
        a.Write(5, "a3");
        await _members.ChangedAsync();

        // No time moved: the new run, not the retry interval, restarted it.
        await read.WaitForAsync(r => r.Any(x => x.Text == "a3"), "the new run's line");
        Assert.Equal(["a1", "a2", "a3"], read.Records.Where(r => r.Incomplete is null).Select(r => r.Text));
    }

    [Fact]
    public async Task AFailedMember_ThatFailsAgain_IsNotMarkedTwice_NorRestartedInALoop()
    {
        _members.RunAgain = true;
        var a = _members.Add("a");
        a.Write(1, "a1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 1, "the first line");

        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "corrupt log file"), sticky: true);
        await read.WaitForAsync(r => r.Any(x => x.Incomplete is not null), "a's marker");
        await Eventually.True(() => _time.TimersCreated(FailedRetry) == 1, "the failed member's retry interval");
        _time.Advance(FailedRetry);
        await Eventually.True(() => _time.TimersCreated(FailedRetry) == 2, "the next retry interval after it failed again");

        Assert.Equal(2, a.Starts.Count);
        Assert.Single(read.Records, r => r.Incomplete is not null);
        Assert.Equal(["a1"], read.Records.Where(r => r.Incomplete is null).Select(r => r.Text));
    }

    [Fact]
    public async Task AFailedMember_ThatHadNoLineYet_IsRetriedFromTheClientsStart_NotFromItsFirstLine()
    {
        var a = _members.Add("a");
        var b = _members.Add("b");
        // Before the client's start: a resumed session saw it already.
        a.Write(1, "a-old");
        b.Write(10, "b1");
        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "corrupt log file"));
        var since = new LogTimestamp(Origin.UnixNanoseconds + 5);
        await using var read = Read(SourceStart.LiveFrom(since));
        await read.WaitForAsync(r => r.Any(x => x.Text == "b1") && r.Any(x => x.Incomplete is not null), "b's line and a's marker");

        await Eventually.True(() => _time.TimersCreated(FailedRetry) == 1, "the failed member's retry interval");
        a.Write(12, "a1");
        _time.Advance(FailedRetry);
        await read.WaitForAsync(r => r.Any(x => x.Text == "a1"), "a's line after its retry");

        Assert.Equal(2, a.Starts.Count);
        Assert.Equal(since, a.Starts[1].Since);
        Assert.DoesNotContain(read.Records, r => r.Text == "a-old");
    }

    [Fact]
    public async Task AFailedMembersMarker_IsStampedAtItsLastLine_NotTheClock()
    {
        // The clock is far ahead of a member running behind: a marker stamped now would sort ahead of that member's
        // older lines still held by the merge, and release them out of order.
        _time.SetUtcNow(Origin.ToDateTimeOffset() + TimeSpan.FromHours(1));
        var a = _members.Add("a");
        a.Write(1, "a1");
        a.Write(2, "a2");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "the first lines");

        a.Fail(new LogSourceException(LogSourceErrorKind.Failed, "corrupt log file"));
        await read.WaitForAsync(r => r.Any(x => x.Incomplete is not null), "a's marker");

        var marker = Assert.Single(read.Records, r => r.Incomplete is not null);
        Assert.Equal(Origin.UnixNanoseconds + 2, marker.Timestamp.UnixNanoseconds);
    }

    [Fact]
    public async Task TheStackRemoved_ItsMembersLastLinesStillArrive_BeforeTheReadEnds()
    {
        var a = _members.Add("a");
        var b = _members.Add("b");
        a.Write(1, "a1");
        b.Write(2, "b1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 2, "the first lines");

        _members.Remove("a");
        _members.Remove("b");
        await _members.ChangedAsync();
        await Eventually.True(() => _time.TimersCreated(Drain) == 1, "the drain of the removed stack's members");
        // Docker still sends a removed service's last lines before its read ends.
        a.Write(3, "a2");
        a.End();
        b.End();

        await read.Completion.WaitAsync(Bound);
        Assert.Equal(["a1", "b1", "a2"], read.Records.Select(r => r.Text));
        // The members drained before the timeout: its timer is stopped with the read, not left for the rest of it.
        Assert.Equal(0, _time.TimersAlive(Drain));
    }

    [Fact]
    public async Task TheStackRemoved_AMemberThatDoesNotEnd_IsCancelledAfterTheDrain()
    {
        var a = _members.Add("a");
        a.Write(1, "a1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 1, "the first line");

        _members.Remove("a");
        await _members.ChangedAsync();
        await Eventually.True(() => _time.TimersCreated(Drain) == 1, "the drain of the removed stack's members");
        Assert.False(read.Completion.IsCompleted);
        _time.Advance(Drain);

        await read.Completion.WaitAsync(Bound);
        Assert.Equal(0, _members.OpenReads);
    }

    [Fact]
    public async Task ASwarmMembersStream_ThatEndsWhileTheServiceExists_IsReopenedFromItsLastLine()
    {
        var a = _members.Add("a");
        a.Write(1, "a1");
        await using var read = Read();
        await read.WaitForAsync(r => r.Length == 1, "the first line");

        a.End();
        await Eventually.True(() => _time.TimersCreated(Backoff) == 1, "the member's backoff");
        a.Resume();
        a.Write(2, "a2");
        _time.Advance(Backoff);

        await read.WaitForAsync(r => r.Any(x => x.Text == "a2"), "the line after the reopen");
        Assert.Equal(2, a.Starts.Count);
        Assert.Equal(["a1", "a2"], read.Records.Select(r => r.Text));
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(1);
    private static readonly long MarginNanos = Margin.Ticks * 100;
    private static readonly TimeSpan FailedRetry = TimeSpan.FromSeconds(7);
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(3);

    private static long Millis(int ms) => ms * 1_000_000L;

    private RecordedRead Read(SourceStart? start = null)
    {
        var options = new StackOptions
        {
            MemberRetryInitialBackoff = Backoff, MemberRetryMaxBackoff = Backoff, PollInterval = PollInterval, MemberRetryGiveUpAfter = GiveUp,
            FailedMemberRetryAfter = FailedRetry, RemovalDrainTimeout = Drain,
        };
        var read = new StackRead(_members, options, Margin, _time, NullLogger.Instance);
        return new RecordedRead(read.ReadAsync(new StreamKey("local", LogSourceType.Stack, "swarm:s"), start ?? SourceStart.LiveAll(), CancellationToken.None));
    }

    private static SourceRecord Line(string member, long nanos, string text, OutputStream stream = OutputStream.Stdout) =>
        new(new LogTimestamp(Origin.UnixNanoseconds + nanos), false, stream, text, LogSeverity.Info,
            new Dictionary<string, string> { [StackLabels.ReplicaIdMetadata] = member });

    private sealed class RecordedRead : IAsyncDisposable
    {
        private readonly List<SourceRecord> _records = [];
        private readonly IAsyncEnumerator<SourceRecord> _enumerator;
        private readonly CancellationTokenSource _stop = new();

        public RecordedRead(IAsyncEnumerable<SourceRecord> read)
        {
            _enumerator = read.GetAsyncEnumerator(_stop.Token);
            Completion = Task.Run(async () =>
            {
                while (await _enumerator.MoveNextAsync())
                    lock (_records)
                        _records.Add(_enumerator.Current);
            });
        }

        public Task Completion { get; }

        public SourceRecord[] Records
        {
            get
            {
                lock (_records)
                    return [.. _records];
            }
        }

        public Task WaitForAsync(Func<SourceRecord[], bool> condition, string what) => Eventually.True(() =>
        {
            if (Completion.IsFaulted)
                throw Completion.Exception!;
            return condition(Records);
        }, what);

        public async ValueTask DisposeAsync()
        {
            // Bounded, so a read that does not end fails the test instead of hanging the run.
            await _stop.CancelAsync();
            await Task.WhenAny(Completion).WaitAsync(Bound);
            await _enumerator.DisposeAsync().AsTask().WaitAsync(Bound);
            _stop.Dispose();
        }
    }

    private sealed class FakeMembership : StackMembership
    {
        private readonly Lock _gate = new();
        private readonly List<FakeMember> _members = [];
        private Action? _changed;
        private int _openReads;
        private int _listings;

        /// <summary>How many listings answered.</summary>
        public int Listings => Volatile.Read(ref _listings);

        public bool RunAgain { get; set; }

        public int OpenReads => Volatile.Read(ref _openReads);

        public override bool MembersRunAgain => RunAgain;

        public FakeMember Add(string id, bool running = true)
        {
            var member = new FakeMember(id, running);
            lock (_gate)
                _members.Add(member);
            return member;
        }

        public void Remove(string id)
        {
            lock (_gate)
                _members.RemoveAll(m => m.Id == id);
        }

        /// <summary>Signals a membership change once the read watches for changes (it subscribes after its first listing).</summary>
        public async Task ChangedAsync()
        {
            await Eventually.True(() => Volatile.Read(ref _changed) is not null, "the read to watch for membership changes");
            _changed!.Invoke();
        }

        public Exception? ListFault { get; set; }

        // Answers without looking at the token, on purpose: the read must notice its own end, not rely on the listing.
        public override Task<IReadOnlyList<StackMember>> ListAsync(CancellationToken cancellationToken)
        {
            if (ListFault is { } fault)
                return Task.FromException<IReadOnlyList<StackMember>>(fault);
            Interlocked.Increment(ref _listings);
            lock (_gate)
                return Task.FromResult<IReadOnlyList<StackMember>>([.. _members.Select(m => new StackMember(m.Id, HasRun: true, Running: m.Running))]);
        }

        public override Task<string?> DaemonNowAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public override Task<string?> CurrentRunAsync(string id, CancellationToken cancellationToken)
        {
            lock (_gate)
                return Task.FromResult(_members.SingleOrDefault(m => m.Id == id)?.Run);
        }

        public override async Task WatchAsync(string? since, Action changed, CancellationToken cancellationToken)
        {
            Volatile.Write(ref _changed, changed);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        public override string Describe(string id) => $"member {id}";

        public override async IAsyncEnumerable<SourceRecord> ReadAsync(string id, SourceStart start, bool rejoining, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            FakeMember member;
            lock (_gate)
                member = _members.Single(m => m.Id == id);
            Interlocked.Increment(ref _openReads);
            try
            {
                await foreach (var record in member.ReadAsync(start, cancellationToken))
                    yield return record;
            }
            finally
            {
                Interlocked.Decrement(ref _openReads);
            }
        }
    }

    private sealed class FakeMember(string id, bool running)
    {
        private readonly Lock _gate = new();
        private readonly List<SourceRecord> _lines = [];
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Exception? _fault;
        private bool _stickyFault;
        private bool _ended;

        public string Id { get; } = id;

        public bool Running { get; } = running;

        /// <summary>Which run of it is current (a Compose container's start).</summary>
        public string Run { get; set; } = "first run";

        public List<SourceStart> Starts { get; } = [];

        public void Write(long nanos, string text, OutputStream stream = OutputStream.Stdout) => Update(() => _lines.Add(Line(Id, nanos, text, stream)));

        /// <summary>The next read fails once its lines are given; <paramref name="sticky"/>: every read after it too.</summary>
        public void Fail(Exception fault, bool sticky = false) => Update(() => (_fault, _stickyFault) = (fault, sticky));

        public void End() => Update(() => _ended = true);

        /// <summary>Reads after this one no longer end (a stream that ended while its member still exists).</summary>
        public void Resume() => Update(() => _ended = false);

        private void Update(Action change)
        {
            lock (_gate)
            {
                change();
                _signal.TrySetResult();
                _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public async IAsyncEnumerable<SourceRecord> ReadAsync(SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (_gate)
                Starts.Add(start);
            var next = 0;
            while (true)
            {
                SourceRecord? record = null;
                Task wait;
                lock (_gate)
                {
                    while (next < _lines.Count && start.Since is { } since && _lines[next].Timestamp < since)
                        next++;
                    if (next < _lines.Count)
                        record = _lines[next++];
                    else if (_fault is { } fault)
                    {
                        if (!_stickyFault)
                            _fault = null;
                        throw fault;
                    }
                    else if (_ended)
                        yield break;
                    wait = _signal.Task;
                }
                if (record is not null)
                {
                    yield return record;
                    continue;
                }
                await wait.WaitAsync(cancellationToken);
            }
        }
    }
}
