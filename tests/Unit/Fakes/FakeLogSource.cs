using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Tests.Unit.Fakes;

/// <summary>
/// A fake of our own <see cref="ILogSource"/> that behaves like a Docker log file: lines are appended with
/// increasing timestamps, a history read returns the last N and ends, a live read returns every line at or
/// after <c>since</c> and then waits for new ones. Tests can end the source, fail reads, and watch every read.
/// </summary>
public sealed class FakeLogSource : ILogSource
{
    private static readonly LogTimestamp Origin = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
    private readonly Lock _gate = new();
    private readonly List<SourceRecord> _lines = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;
    private Exception? _liveFault;
    private int _failNextLiveOpens;
    private Exception? _historyFault;

    public FakeLogSource(LogSourceType type = LogSourceType.Container) => SourceType = type;

    public LogSourceType SourceType { get; }

    public int HistoryOpens;
    public int LiveOpens;
    public int OpenReads;
    public List<SourceStart> Starts { get; } = [];
    public List<CancellationToken> ReadTokens { get; } = [];

    public int LineCount { get { lock (_gate) return _lines.Count; } }

    /// <summary>Appends a line; the timestamp is one microsecond after the previous one unless given.</summary>
    public SourceRecord Write(string text, LogTimestamp? at = null)
    {
        lock (_gate)
        {
            var timestamp = at ?? new LogTimestamp(Origin.UnixNanoseconds + (_lines.Count + 1) * 1000L);
            var record = new SourceRecord(timestamp, false, OutputStream.Stdout, text, LogSeverity.Info);
            _lines.Add(record);
            SignalLocked();
            return record;
        }
    }

    /// <summary>The metadata key lines are partitioned by (a service's task id); null: one partition.</summary>
    public string? TailPartitionKey { get; set; }

    /// <summary>Appends a line of one partition (metadata <c>task_id</c>) with the timestamp given.</summary>
    public SourceRecord Write(string text, LogTimestamp at, string partition) =>
        Append(new SourceRecord(at, false, OutputStream.Stdout, text, LogSeverity.Info, new Dictionary<string, string> { ["task_id"] = partition }));

    /// <summary>Appends a record as it is (a marker, a line read twice).</summary>
    public SourceRecord Append(SourceRecord record)
    {
        lock (_gate)
        {
            _lines.Add(record);
            SignalLocked();
            return record;
        }
    }

    /// <summary>When set, every live read answers (connects) and then fails with this fault before any line.</summary>
    public Exception? FailEveryLiveReadAfterConnect { get; set; }

    public void WriteMany(int count, Func<int, string>? text = null)
    {
        for (var i = 1; i <= count; i++)
            Write(text?.Invoke(i) ?? $"line {LineCount + 1}");
    }

    /// <summary>Appends <paramref name="count"/> lines at once: an open live read returns them all in one batch.</summary>
    public void WriteBurst(int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
                _lines.Add(new SourceRecord(new LogTimestamp(Origin.UnixNanoseconds + (_lines.Count + 1) * 1000L), false, OutputStream.Stdout, $"line {_lines.Count + 1}", LogSeverity.Info));
            SignalLocked();
        }
    }

    /// <summary>The resource stops: live reads end after the lines already written.</summary>
    public void End()
    {
        lock (_gate)
        {
            _ended = true;
            SignalLocked();
        }
    }

    /// <summary>Open live reads throw <paramref name="fault"/> once they have returned what was written.</summary>
    public void BreakLiveReads(Exception fault, int failNextOpens = 0)
    {
        lock (_gate)
        {
            _liveFault = fault;
            _failNextLiveOpens = failNextOpens;
            SignalLocked();
        }
    }

    public void FailHistory(Exception fault) => _historyFault = fault;

    /// <summary>When set, history reads give nothing until it completes (a quiet range: Docker answers, no line yet).</summary>
    public Task? HistoryGate { get; set; }

    /// <summary>Names that <see cref="ResolveAsync"/> answers as unknown, as Docker does with a 404.</summary>
    public HashSet<string> UnknownResources { get; } = [];

    public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) =>
        UnknownResources.Contains(resource)
            ? throw new LogSourceException(LogSourceErrorKind.NotFound, $"No such {SourceType.ToWire()}: {resource}")
            : ValueTask.FromResult(resource);

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int position;
        List<SourceRecord>? selection = null;
        lock (_gate)
        {
            Starts.Add(start);
            ReadTokens.Add(cancellationToken);
            if (start.Follow)
            {
                LiveOpens++;
                if (_failNextLiveOpens > 0)
                {
                    _failNextLiveOpens--;
                    throw _liveFault!;
                }
                _liveFault = null;
            }
            else
            {
                HistoryOpens++;
                if (_historyFault is not null)
                    throw _historyFault;
            }
            if (start is { Tail: { } perTask, Since: null } && TailPartitionKey is { } partitionKey)
            {
                // Docker counts a partitioned source's tail per task: the newest lines of each, in log order.
                var counts = new Dictionary<string, int>();
                var picked = new List<SourceRecord>();
                for (var i = _lines.Count - 1; i >= 0; i--)
                {
                    var task = _lines[i].Metadata?.GetValueOrDefault(partitionKey) ?? "";
                    var seen = counts.GetValueOrDefault(task);
                    if (seen >= perTask)
                        continue;
                    counts[task] = seen + 1;
                    picked.Add(_lines[i]);
                }
                picked.Reverse();
                selection = picked;
            }
            position = selection is not null ? _lines.Count : start switch
            {
                { Since: { } since } => _lines.FindIndex(l => l.Timestamp >= since) is var i and >= 0 ? i : _lines.Count,
                { Tail: { } tail } => Math.Max(0, _lines.Count - tail),
                _ => 0,
            };
        }
        start.OnConnected?.Invoke();
        if (start.Follow && FailEveryLiveReadAfterConnect is { } failure)
            throw failure;
        if (!start.Follow && HistoryGate is { } gate)
            await gate.WaitAsync(cancellationToken);
        Interlocked.Increment(ref OpenReads);
        try
        {
            foreach (var record in selection ?? [])
                yield return record;
            while (true)
            {
                SourceRecord[] batch;
                Task changed;
                lock (_gate)
                {
                    batch = _lines.GetRange(position, _lines.Count - position).ToArray();
                    position = _lines.Count;
                    changed = _changed.Task;
                    if (batch.Length == 0)
                    {
                        if (!start.Follow || _ended)
                            yield break;
                        if (_liveFault is not null)
                            throw _liveFault;
                    }
                }
                foreach (var record in batch)
                {
                    // Docker's until is inclusive; a marker is the reader's own (a daemon error stamped when it came), not Docker's.
                    if (record.Incomplete is not null || !start.IsAfterUntil(record.Timestamp))
                        yield return record;
                }
                if (batch.Length == 0)
                    await changed.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref OpenReads);
        }
    }

    private void SignalLocked()
    {
        _changed.TrySetResult();
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
