using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Where a read of older lines from the source (a backward scan, the older part of a range) hands over to a
/// subscription's history, decided the way a resume decides "already seen": per partition, by line identity
/// (<see cref="CursorFilter{T}"/>). The history holds, per partition, a suffix of that partition's lines: everything
/// before its first line there is older, and nothing from it on may be repeated. A partition the history has no line of
/// is older up to its last line the stream passed on. A timestamp alone cannot say this: lines of one instant sit on
/// both sides of the history's start, and a slower replica's lines stamped later than the history's oldest line were
/// passed on (and dropped from the buffer) before it.
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
    /// partition, or the last line of a partition the history does not hold). A read of older lines reads up to it, inclusive.
    /// </summary>
    public LogTimestamp Watermark { get; }

    /// <summary>The partitions the history holds or the stream passed on: a read of older lines knows them all.</summary>
    public IEnumerable<ulong> Partitions => _edge.Partitions.Select(p => p.Partition);

    /// <summary>The seam before <paramref name="history"/>; null when it holds no line (every line of the log is older).</summary>
    public static HistorySeam? Before(IReadOnlyList<LogEntry> history, string? partitionKey, PipelineOptions options)
    {
        var first = new Dictionary<ulong, PartitionPosition>();
        StreamPosition? newest = null;
        foreach (var entry in history)
        {
            if (entry.IsIncompleteMarker)
                continue;
            var partition = PositionTracker.PartitionOf(entry.Record, partitionKey);
            first.TryAdd(partition, new PartitionPosition(partition, entry.Timestamp.UnixNanoseconds, entry.Line != 0 ? entry.Line : LineIdentity.Of(entry.Record)));
            newest = entry.Position ?? newest;
        }
        if (first.Count == 0)
            return null;
        var partitions = new List<PartitionPosition>(first.Values);
        var inclusive = new HashSet<PartitionPosition>();
        foreach (var at in newest?.Partitions ?? [])
        {
            if (first.ContainsKey(at.Partition))
                continue;
            partitions.Add(at);
            inclusive.Add(at);
        }
        var watermark = partitions.Max(p => p.LastTimestamp);
        if (newest is { Floor: var floor } && floor != long.MinValue)
            watermark = Math.Max(watermark, floor);
        // Partitions the stream does not list (folded into its floor, or never seen) are older up to the watermark.
        return new HistorySeam(new StreamPosition(watermark, [.. partitions]), inclusive, new LogTimestamp(watermark), partitionKey, options);
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
