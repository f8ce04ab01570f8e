using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Positions;

/// <summary>
/// Follows a stream's position line by line: each partition's last line passed on (at most
/// <c>maxPartitions</c>; the partition whose last line is oldest is folded into the floor), and the identities of the
/// last <c>repeatWindow</c> lines, so a line read twice is dropped instead of shown twice. Not thread-safe: one
/// reader (a stream's pump, one catch-up read) owns it.
/// </summary>
internal sealed class PositionTracker
{
    private readonly string? _partitionKey;
    private readonly int _maxPartitions;
    private readonly Dictionary<ulong, int> _index = [];
    private readonly ulong[] _recent;
    private readonly HashSet<ulong> _recentSet;
    private int _recentNext;
    private int _recentCount;
    private PartitionPosition[] _partitions;
    private long _floor;

    public PositionTracker(string? partitionKey, int maxPartitions, int repeatWindow, StreamPosition? seed = null)
    {
        _partitionKey = partitionKey;
        _maxPartitions = maxPartitions;
        _recent = new ulong[Math.Max(1, repeatWindow)];
        _recentSet = new HashSet<ulong>(Math.Min(repeatWindow, 1024));
        seed ??= StreamPosition.Empty;
        _floor = seed.Floor;
        _partitions = [.. seed.Partitions];
        for (var i = 0; i < _partitions.Length; i++)
            _index[_partitions[i].Partition] = i;
        Position = seed;
    }

    /// <summary>The position after the last line passed to <see cref="Advance"/>.</summary>
    public StreamPosition Position { get; private set; }

    public ulong PartitionOf(SourceRecord record) => PartitionOf(record, _partitionKey);

    public static ulong PartitionOf(SourceRecord record, string? partitionKey) =>
        LineIdentity.OfPartition(partitionKey is not null && record.Metadata is { } metadata && metadata.TryGetValue(partitionKey, out var value) ? value : "");

    /// <summary>True when a line with this identity was passed on within the repeat window.</summary>
    public bool IsRepeat(ulong line) => _recentSet.Contains(line);

    /// <summary>Records a line passed on and returns the position after it.</summary>
    public StreamPosition Advance(SourceRecord record, ulong line)
    {
        Remember(line);
        var partition = PartitionOf(record);
        var at = new PartitionPosition(partition, record.Timestamp.UnixNanoseconds, line);
        PartitionPosition[] next;
        if (_index.TryGetValue(partition, out var i))
        {
            next = (PartitionPosition[])_partitions.Clone();
            next[i] = at;
        }
        else if (_partitions.Length < _maxPartitions)
        {
            next = [.. _partitions, at];
            _index[partition] = next.Length - 1;
        }
        else
        {
            // Full: the partition that went quiet longest gives its place; its lines up to its last are now covered by the floor.
            var oldest = 0;
            for (var j = 1; j < _partitions.Length; j++)
            {
                if (_partitions[j].LastTimestamp < _partitions[oldest].LastTimestamp)
                    oldest = j;
            }
            _floor = Math.Max(_floor, _partitions[oldest].LastTimestamp);
            _index.Remove(_partitions[oldest].Partition);
            next = (PartitionPosition[])_partitions.Clone();
            next[oldest] = at;
            _index[partition] = oldest;
        }
        _partitions = next;
        Position = new StreamPosition(_floor, next);
        return Position;
    }

    private void Remember(ulong line)
    {
        if (_recentCount == _recent.Length)
            _recentSet.Remove(_recent[_recentNext]);
        else
            _recentCount++;
        _recent[_recentNext] = line;
        _recentSet.Add(line);
        _recentNext = (_recentNext + 1) % _recent.Length;
    }

    /// <summary>
    /// Where a read that must re-find this position starts: the margin before the newest partition's last line, lowered
    /// for every partition whose last line falls near that point, so each partition is either clearly inside the read
    /// (its last line is re-read and found again) or clearly before it (all its lines in the read are new). A task
    /// quiet for hours does not drag the read back hours. Null when nothing was passed on yet.
    /// </summary>
    public static LogTimestamp? ReadFrom(StreamPosition position, TimeSpan margin)
    {
        var partitions = position.PartitionArray;
        if (partitions.Length == 0)
            return position.Floor <= 0 ? null : new LogTimestamp(position.Floor);
        var marginNanos = margin.Ticks * 100;
        var newestFirst = partitions.Select(p => p.LastTimestamp).OrderDescending().ToArray();
        var since = newestFirst[0] - marginNanos;
        foreach (var last in newestFirst)
        {
            // Ambiguous when within a margin of the read's start: lower the start to take it inside.
            if (last >= since - marginNanos && last - marginNanos < since)
                since = last - marginNanos;
        }
        return new LogTimestamp(Math.Max(0, since));
    }

    /// <summary>Lines passed on that a new tracker must still recognise as repeats (a seeded one: each partition's last line).</summary>
    public void RememberLastLines(StreamPosition position)
    {
        foreach (var at in position.PartitionArray)
            Remember(at.LastLine);
    }
}
