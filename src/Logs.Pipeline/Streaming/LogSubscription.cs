using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Query;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// One client's view of a stream: its history (taken from the replay buffer at the instant it attached),
/// then live entries from its own bounded queue, with gap markers wherever sequence numbers jump.
/// A subscription has a single reader. Dispose it when the client leaves: that is what lets the stream's
/// upstream go after the idle grace.
/// </summary>
public sealed class LogSubscription : IAsyncDisposable
{
    private LogEntry[] _history;
    private readonly SubscriberQueue? _live;
    private readonly Exception? _historyFault;
    private readonly Func<SubscriberQueue?, ValueTask>? _release;
    private StreamEvent? _leading;
    private StreamEvent? _pending;
    private int _historyIndex;
    private const int ProgressEvery = 16;
    private LogEntry[]? _chunk;
    private int _chunkIndex;
    private long _lastDelivered;
    private long _selectedHistoryEnd;
    private int _disposed;
    private CursorFilter<LogEntry>? _resume;
    private readonly List<LogEntry?> _passed = [];
    private readonly Queue<StreamEvent> _ready = new();
    private LineFilter? _filter;
    // History entries sequenced below this are not shown (a filtered tail shows only the newest matching lines); they
    // still count as delivered, so skipping them is not a gap.
    private long _historyShownFrom;

    internal LogSubscription(
        StreamKey key,
        string epoch,
        LogEntry[] history,
        long lastDelivered,
        SubscriberQueue? live,
        Func<SubscriberQueue?, ValueTask>? release,
        StreamEvent? leading = null,
        Exception? historyFault = null,
        long selectedHistoryEnd = 0,
        CursorFilter<LogEntry>? resume = null)
    {
        _resume = resume;
        Key = key;
        Epoch = epoch;
        _history = history;
        // A selected history (a partitioned tail) has holes by design: its entries are delivered as they are,
        // and gap counting starts after its end.
        _selectedHistoryEnd = selectedHistoryEnd;
        _lastDelivered = lastDelivered;
        _live = live;
        _release = release;
        _leading = leading;
        _historyFault = historyFault;
    }

    public StreamKey Key { get; }

    /// <summary>The stream epoch this subscription reads; with a sequence number it makes a resume point.</summary>
    public string Epoch { get; }

    /// <summary>When the subscription was asked for (<see cref="TimeProvider.GetTimestamp"/>); 0 when not known.</summary>
    public long SubscribedTimestamp { get; internal set; }

    /// <summary>Where its history came from: the shared replay buffer, or a read of the upstream it waited for.</summary>
    public HistoryOrigin HistoryOrigin { get; internal set; } = HistoryOrigin.Upstream;

    /// <summary>Entries served from the replay buffer when the subscription began.</summary>
    public int HistoryCount => _history.Length;

    /// <summary>Cancelled when the pipeline closes this subscriber, for example as stalled: stop waiting on the client.</summary>
    public CancellationToken Aborted => _live?.Aborted ?? CancellationToken.None;

    /// <summary>Entries dropped from this subscriber's queue because it fell behind.</summary>
    public long Dropped => _live?.Dropped ?? 0;

    /// <summary>Takes the next event if one is ready. Gap markers come before the entry that follows the gap.</summary>
    public bool TryRead(out StreamEvent streamEvent)
    {
        if (_leading is { } leading)
        {
            _leading = null;
            streamEvent = leading;
            return true;
        }
        if (_pending is { } pending)
        {
            _pending = null;
            streamEvent = pending;
            return true;
        }
        if (_ready.TryDequeue(out streamEvent))
            return true;
        while (true)
        {
            StreamItem item;
            var fromHistory = _historyIndex < _history.Length;
            if (fromHistory)
                item = _history[_historyIndex++];
            else if (!TryReadLive(out item))
            {
                streamEvent = default;
                return false;
            }

            if (item is StreamNotice notice)
            {
                streamEvent = StreamEvent.ForNotice(notice);
                return true;
            }

            var entry = (LogEntry)item;
            if (_selectedHistoryEnd > 0)
            {
                if (fromHistory)
                {
                    if (!Visible(entry, fromHistory, out var selected))
                        continue;
                    streamEvent = StreamEvent.ForEntryOrMarker(entry) with { Matches = selected };
                    return true;
                }
                _lastDelivered = _selectedHistoryEnd;
                _selectedHistoryEnd = 0;
            }
            if (entry.Sequence == 0)
            {
                // Unsequenced (the legacy path's direct read, a resume's catch-up read, a backward scan): nothing to dedupe or count.
                if (!Visible(entry, fromHistory: false, out var unsequenced))
                    continue;
                streamEvent = StreamEvent.ForEntryOrMarker(entry) with { Matches = unsequenced };
                return true;
            }
            if (entry.Sequence <= _lastDelivered)
                continue;
            var missed = entry.Sequence - _lastDelivered - 1;
            _lastDelivered = entry.Sequence;
            if (_resume is not null && !entry.IsIncompleteMarker)
            {
                if (TryResume(entry, missed, fromHistory, out streamEvent))
                    return true;
                continue;
            }
            // A gap counts every line missed, chosen by this client's filter or not: it cannot know which the missed ones were.
            var visible = Visible(entry, fromHistory, out var matches);
            if (missed > 0)
            {
                if (visible)
                    _pending = StreamEvent.ForEntryOrMarker(entry) with { Matches = matches };
                streamEvent = StreamEvent.ForGap(missed, fromHistory ? GapReason.NotRetained : GapReason.SlowSubscriber);
                return true;
            }
            if (!visible)
                continue;
            streamEvent = StreamEvent.ForEntryOrMarker(entry) with { Matches = matches };
            return true;
        }
    }

    /// <summary>
    /// Passes an entry through the resume filter until the client's cursor is found again in every partition; what
    /// it lets through (and the gaps it declares) is queued in order, and the first is returned.
    /// </summary>
    private bool TryResume(LogEntry entry, long missed, bool fromHistory, out StreamEvent streamEvent)
    {
        if (missed > 0)
            _ready.Enqueue(StreamEvent.ForGap(missed, fromHistory ? GapReason.NotRetained : GapReason.SlowSubscriber));
        _passed.Clear();
        _resume!.Offer(entry, entry.Record, entry.Line, _passed);
        if (_resume.Settled)
            _resume = null;
        foreach (var passed in _passed)
        {
            if (passed is null)
                _ready.Enqueue(StreamEvent.ForGap(-1, GapReason.NotRetained));
            else if (Visible(passed, fromHistory: false, out var matches))
                _ready.Enqueue(StreamEvent.ForEntry(passed) with { Matches = matches });
        }
        return _ready.TryDequeue(out streamEvent);
    }

    /// <summary>Whether this client's filter shows the entry (always, without one), and where its pattern matched.</summary>
    private bool Visible(LogEntry entry, bool fromHistory, out MatchSpan[]? matches)
    {
        matches = null;
        if (_filter is null)
            return true;
        if (fromHistory && entry.Sequence > 0 && entry.Sequence < _historyShownFrom)
            return false;
        return _filter.Accepts(entry.Record, out matches);
    }

    /// <summary>The filter this subscription reads through (null: every line).</summary>
    public LineFilter? Filter => _filter;

    /// <summary>
    /// Reads through <paramref name="filter"/> from now on (before the first read). With <paramref name="tail"/>, only
    /// the newest <paramref name="tail"/> matching lines of the history are shown. Returns how many of the history's
    /// lines will be shown (counted only with a tail; -1 without).
    /// </summary>
    internal int Apply(LineFilter filter, int? tail)
    {
        _filter = filter;
        if (tail is not { } wanted)
            return -1;
        var found = 0;
        var shownFrom = long.MaxValue;
        for (var i = _history.Length - 1; i >= 0 && found < wanted; i--)
        {
            var entry = _history[i];
            if (entry.IsIncompleteMarker || entry.Sequence == 0 || !filter.Accepts(entry.Record, out _))
                continue;
            found++;
            shownFrom = entry.Sequence;
        }
        _historyShownFrom = shownFrom;
        return found;
    }

    /// <summary>Lines read for this client from before its history (a backward scan, the older part of a range) go first.</summary>
    internal void Prepend(IReadOnlyCollection<LogEntry> older)
    {
        if (older.Count > 0)
            _history = [.. older, .. _history];
    }

    /// <summary>The history as it stands (before it is read): where a read of older lines hands over to it.</summary>
    internal IReadOnlyList<LogEntry> History => _history;

    /// <summary>Where the live read that feeds this subscription starts for partitions it has not seen; null without a live part.</summary>
    internal LiveReadStart? LiveRead { get; init; }

    /// <summary>
    /// True when the history holds a line of every partition the stream has passed lines of (its per-partition tails
    /// dropped none): a partition it does not hold is one the stream has passed nothing of.
    /// </summary>
    internal bool HistoryListsEveryPartition { get; init; }

    /// <summary>The oldest line of the history (null when it has none): where a read of older lines ends.</summary>
    internal LogTimestamp? OldestHistoryTimestamp()
    {
        LogTimestamp? oldest = null;
        foreach (var entry in _history)
        {
            if (!entry.IsIncompleteMarker && (oldest is null || entry.Timestamp < oldest))
                oldest = entry.Timestamp;
        }
        return oldest;
    }

    /// <summary>While lines are read from the source for this client, its live queue is not taken for a stalled reader.</summary>
    internal void KeepAlive() => _live?.NoteProgress();

    /// <summary>
    /// Waits until <see cref="TryRead"/> has something. False when the stream ended normally and everything was read;
    /// throws the stream's fault (or <see cref="SubscriberStalledException"/>) when it ended with one.
    /// </summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        if (_leading is not null || _pending is not null || _ready.Count > 0 || _historyIndex < _history.Length || _chunk is not null)
            return true;
        if (_live is not null && await _live.WaitToReadAsync(cancellationToken))
            return true;
        if (_resume is not null)
        {
            // The stream ended while lines were held waiting for the cursor's last line: it will not come now.
            _passed.Clear();
            _resume.Finish(_passed);
            _resume = null;
            foreach (var passed in _passed)
            {
                if (passed is null)
                    _ready.Enqueue(StreamEvent.ForGap(-1, GapReason.NotRetained));
                else if (Visible(passed, fromHistory: false, out var matches))
                    _ready.Enqueue(StreamEvent.ForEntry(passed) with { Matches = matches });
            }
            if (_ready.Count > 0)
                return true;
        }
        var fault = _live?.Fault ?? _historyFault;
        if (fault is not null)
            throw fault;
        return false;
    }

    /// <summary>
    /// For a reader that waits on its own instead of on <see cref="WaitToReadAsync"/> (no task per wait): arms
    /// <paramref name="wake"/> to be called once, when <see cref="TryRead"/> may have something or the stream ended.
    /// False when that is so already: read now, and ask <see cref="WaitToReadAsync"/>, which then completes at once,
    /// whether the stream ended. The callback runs on the writer's thread under its lock: it must only signal.
    /// </summary>
    public bool TryArmWake(Action<object?> wake, object? state)
    {
        if (_leading is not null || _pending is not null || _ready.Count > 0 || _historyIndex < _history.Length || _chunk is not null)
            return false;
        return _live is not null && _live.TryArmWake(wake, state);
    }

    /// <summary>The next line of the chunk being read, or the next item of the queue.</summary>
    private bool TryReadLive(out StreamItem item)
    {
        if (_chunk is null)
        {
            if (_live is null || !_live.TryRead(out var queued))
            {
                item = null!;
                return false;
            }
            if (queued.Notice is { } notice)
            {
                item = notice;
                return true;
            }
            _chunk = queued.Entries;
            _chunkIndex = queued.Start;
        }
        else if ((_chunkIndex & (ProgressEvery - 1)) == 0)
        {
            // Lines from the chunk already held are progress too, or a client slowly working through a big chunk
            // would look stalled while new chunks queue up behind it. Noted every few lines: a clock read per line
            // per client is measurable at a million deliveries a second.
            _live!.NoteProgress();
        }
        item = _chunk![_chunkIndex++];
        if (_chunkIndex == _chunk.Length)
            _chunk = null;
        return true;
    }

    public async IAsyncEnumerable<StreamEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken))
        {
            while (TryRead(out var streamEvent))
                yield return streamEvent;
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _release is null)
            return ValueTask.CompletedTask;
        return _release(_live);
    }
}

/// <summary>Where a subscription's history came from.</summary>
public enum HistoryOrigin
{
    /// <summary>Read from the upstream for this subscription, or while the stream it opened loaded its history.</summary>
    Upstream,

    /// <summary>Taken from a live stream's replay buffer at once.</summary>
    Replay,
}

public static class HistoryOriginExtensions
{
    /// <summary>The metric tag value: <c>replay</c> or <c>upstream</c>.</summary>
    public static string ToWire(this HistoryOrigin origin) => origin == HistoryOrigin.Replay ? "replay" : "upstream";
}
