using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Where a read of older lines from the source (a backward scan, the older part of a range) hands over to a
/// subscription's history, decided the way a resume decides "already seen": per partition, by line identity
/// (<see cref="CursorFilter{T}"/>). The history holds, per partition, a suffix of that partition's lines: everything
/// before its first line there is older, and nothing from it on may be repeated. A partition the history has no line of
/// but the stream passed lines of is older up to its last line passed on. A partition the stream has passed no line of
/// (a replica quiet so far, or whose lines the live read has not delivered yet) is what the live read says
/// (<see cref="LiveReadStart"/>): its lines from the live read's start on will come live, only the earlier ones are
/// older. A timestamp alone cannot say this: lines of one instant sit on both sides of the history's start, and a
/// slower replica's lines stamped later than the history's oldest line were passed on (and dropped from the buffer)
/// before it.
/// </summary>
internal sealed class HistorySeam
{
    private readonly StreamPosition _edge;
    private readonly HashSet<PartitionPosition> _inclusive;
    private readonly string? _partitionKey;
    private readonly PipelineOptions _options;

    private HistorySeam(StreamPosition edge, HashSet<PartitionPosition> inclusive, LogTimestamp watermark, string? partitionKey, PipelineOptions options)
    {
        _edge = edge;
        _inclusive = inclusive;
        Watermark = watermark;
        _partitionKey = partitionKey;
        _options = options;
    }

    /// <summary>
    /// The drop watermark: the newest timestamp a line older than the history can have (the newest first line of a
    /// partition, or the last line of a partition the history does not hold; with no line at all, just before the live
    /// read's start). A read of older lines reads up to it, inclusive.
    /// </summary>
    public LogTimestamp Watermark { get; }

    /// <summary>
    /// True when no line of the log is older than the client's lines: the history is empty and the live read gives every
    /// line of every partition (it started with nothing passed on). Nothing is to be read; <see cref="Watermark"/> means nothing.
    /// </summary>
    public bool NoneOlder { get; private init; }

    /// <summary>The partitions the history holds or the stream passed on: a read of older lines knows them all.</summary>
    public IEnumerable<ulong> Partitions => _edge.Partitions.Select(p => p.Partition);

    /// <summary>
    /// The seam before <paramref name="subscription"/>'s history. Null when every line of the log is older: it has no
    /// line and no live part (a history-only query of an empty buffer).
    /// </summary>
    public static HistorySeam? Before(LogSubscription subscription, string? partitionKey, PipelineOptions options)
    {
        var first = new Dictionary<ulong, PartitionPosition>();
        StreamPosition? newest = null;
        foreach (var entry in subscription.History)
        {
            // A marker carries the stream's position when it came: the partitions passed on before it.
            newest = entry.Position ?? newest;
            if (entry.IsIncompleteMarker)
                continue;
            var partition = PositionTracker.PartitionOf(entry.Record, partitionKey);
            first.TryAdd(partition, new PartitionPosition(partition, entry.Timestamp.UnixNanoseconds, entry.Line != 0 ? entry.Line : LineIdentity.Of(entry.Record)));
        }
        var partitions = new List<PartitionPosition>(first.Values);
        var inclusive = new HashSet<PartitionPosition>();
        foreach (var at in newest?.Partitions ?? [])
        {
            if (first.ContainsKey(at.Partition))
                continue;
            partitions.Add(at);
            inclusive.Add(at);
        }
        var floor = newest?.Floor ?? long.MinValue;
        var live = subscription.LiveRead;
        if (partitions.Count == 0 && floor == long.MinValue)
        {
            // The stream has passed nothing on: without a live part every line is older; with a live read that gives
            // every line, none is.
            if (live is null)
                return null;
            if (live.From is null)
                return new HistorySeam(StreamPosition.Empty, inclusive, default, partitionKey, options) { NoneOlder = true };
        }
        var watermark = Math.Max(partitions.Count > 0 ? partitions.Max(p => p.LastTimestamp) : long.MinValue, floor);
        // Partitions the stream does not list: those folded into its floor were passed on up to it. Without a live part
        // the rest are older up to the watermark (the client gets no later line of theirs anyway); with one, only their
        // lines before the live read's start are: from it on they come live. Capped at the watermark: a partition with
        // lines before the live read's start that neither the stream's history read nor its live read gave is a gap of
        // the stream itself, not searched for here (it would cost a read of the buffer's whole span for every client).
        var unlisted = watermark;
        if (live is not null)
        {
            // The floor speaks for partitions pushed out of the stream's position. When the history holds a line of
            // every partition passed on, no unlisted one was: only the floor the live read started with counts (it took
            // their lines up to it for passed on); the floor risen since (busy tasks pushing others out) would take a
            // new task's first lines, still on their way to the live read, for older. When the tails dropped partitions,
            // theirs are passed on up to the current floor.
            var passedUpTo = subscription.HistoryListsEveryPartition ? live.Floor : floor;
            var beforeLive = Math.Max(passedUpTo, live.From is { } from ? from.UnixNanoseconds - 1 : long.MinValue);
            // A history without lines has no watermark of its own: older lines end where the live read begins.
            unlisted = partitions.Count == 0 ? beforeLive : Math.Min(watermark, beforeLive);
            watermark = Math.Max(watermark, unlisted);
        }
        return new HistorySeam(new StreamPosition(unlisted, [.. partitions]), inclusive, new LogTimestamp(watermark), partitionKey, options);
    }

    /// <summary>A filter for one read of older lines, starting at <paramref name="readFrom"/>, in the source's order.</summary>
    public Read Begin(LogTimestamp readFrom) => new(this, readFrom);

    /// <summary>One read's side of the seam: <see cref="Offer"/> each line in order, then <see cref="Finish"/>.</summary>
    public sealed class Read
    {
        private readonly HistorySeam _seam;
        private readonly CursorFilter<SourceRecord> _filter;
        private readonly List<SourceRecord?> _newer = [];
        private Action<SourceRecord>? _older;

        internal Read(HistorySeam seam, LogTimestamp readFrom)
        {
            _seam = seam;
            // What the filter passes on is at or after the history's start (the client has it); what it judges seen is older.
            _filter = new CursorFilter<SourceRecord>(seam._edge, seam._partitionKey, seam._options.SeamMargin, seam._options.RepeatWindowEntries, readFrom,
                seen: record => _older?.Invoke(record));
        }

        /// <summary>Offers the next line; <paramref name="older"/> gets the lines now known to be older than the history (in order).</summary>
        public void Offer(SourceRecord record, Action<SourceRecord> older)
        {
            _older = older;
            var line = LineIdentity.Of(record);
            // The last line of a partition the history does not hold was passed on before it: older, and it marks the partition found.
            if (_seam._inclusive.Contains(new PartitionPosition(PositionTracker.PartitionOf(record, _seam._partitionKey), record.Timestamp.UnixNanoseconds, line)))
                older(record);
            _filter.Offer(record, record, line, _newer);
            _newer.Clear();
        }

        /// <summary>The read ended: lines still held were stamped after a partition's first history line that never came; they are the history's.</summary>
        public void Finish()
        {
            _filter.Finish(_newer);
            _newer.Clear();
        }
    }
}
