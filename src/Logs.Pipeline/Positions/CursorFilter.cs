using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Positions;

/// <summary>
/// Finds a <see cref="StreamPosition"/> again in a read of the same log (a reopened upstream read, another process's
/// replay buffer, a catch-up read from Docker) and passes on exactly the lines after it.
/// Per partition, in Docker's order: lines up to and including the position's last line are skipped; once that line is
/// seen, everything after it passes. Lines stamped after the last line but seen before it (stamped out of order) are
/// held until it is found, then dropped as already seen. When the last line never comes (rotated away, lost with a
/// node) and a line stamped more than the margin after it arrives, the partition is declared lost: a gap (a null item
/// in the output) and then the held lines and everything after pass. Lines of partitions the position does not list
/// pass when stamped after its floor.
/// </summary>
/// <typeparam name="T">What is filtered: source records or stream entries; a null in the output is a gap.</typeparam>
internal sealed class CursorFilter<T> where T : class
{
    private readonly Dictionary<ulong, Partition> _partitions = [];
    private readonly long _floor;
    private readonly long _marginNanos;
    private readonly int _maxHeld;
    private readonly string? _partitionKey;
    private readonly Action<T>? _seen;
    private int _searching;

    /// <param name="readFrom">
    /// Where the read being filtered starts, if it is a read from the source: a partition whose last line is more than
    /// the margin before it will not meet that line again, and every line of it in the read is new.
    /// </param>
    /// <param name="alreadyFound">
    /// Positions of partitions known to be found already: the read being filtered starts right after that same last
    /// line (a read shared from an equal cursor), so the line will not come again.
    /// </param>
    /// <param name="seen">
    /// Called with each line judged already seen (before the position's last line; not the last line itself): what a
    /// read of lines older than the position keeps, where the lines passed on are the ones it must not repeat.
    /// </param>
    public CursorFilter(StreamPosition position, string? partitionKey, TimeSpan margin, int maxHeld, LogTimestamp? readFrom = null,
        IReadOnlyList<PartitionPosition>? alreadyFound = null, Action<T>? seen = null)
    {
        _seen = seen;
        _floor = position.Floor;
        _partitionKey = partitionKey;
        _marginNanos = margin.Ticks * 100;
        _maxHeld = maxHeld;
        foreach (var at in position.PartitionArray)
        {
            var partition = new Partition(at);
            if ((readFrom is { } from && at.LastTimestamp < from.UnixNanoseconds - _marginNanos) || IsListed(alreadyFound, at))
                partition.State = SearchState.Found;
            else
                _searching++;
            _partitions[at.Partition] = partition;
        }
    }

    private static bool IsListed(IReadOnlyList<PartitionPosition>? positions, PartitionPosition at)
    {
        if (positions is null)
            return false;
        foreach (var other in positions)
        {
            if (other.Partition == at.Partition && other.LastTimestamp == at.LastTimestamp && other.LastLine == at.LastLine)
                return true;
        }
        return false;
    }

    /// <summary>True once every listed partition was found or declared lost: from then on every line passes.</summary>
    public bool Settled => _searching == 0;

    /// <summary>Partitions declared lost so far (each gave one gap).</summary>
    public int Lost { get; private set; }

    /// <summary>Offers the next line; appends what passes now, in order, to <paramref name="output"/>.</summary>
    public void Offer(T item, SourceRecord record, ulong line, List<T?> output)
    {
        var id = PositionTracker.PartitionOf(record, _partitionKey);
        if (!_partitions.TryGetValue(id, out var partition))
        {
            if (record.Timestamp.UnixNanoseconds > _floor)
                output.Add(item);
            else
                _seen?.Invoke(item);
            return;
        }
        var at = partition.At;
        var isLast = line == at.LastLine && record.Timestamp.UnixNanoseconds == at.LastTimestamp;
        switch (partition.State)
        {
            // The last line itself, read again (Docker repeats lines around a rotation): not new.
            case SearchState.Found when isLast:
                return;
            case SearchState.Found or SearchState.Lost:
                output.Add(item);
                return;
        }
        if (isLast)
        {
            // Everything held was stamped later but written before the last line seen: already passed on.
            partition.State = SearchState.Found;
            if (_seen is not null && partition.Held is { } earlier)
            {
                foreach (var held in earlier)
                    _seen(held);
            }
            partition.Held = null;
            _searching--;
            return;
        }
        var ts = record.Timestamp.UnixNanoseconds;
        if (ts <= at.LastTimestamp)
        {
            _seen?.Invoke(item);
            return;
        }
        if (ts > at.LastTimestamp + _marginNanos || (partition.Held?.Count ?? 0) >= _maxHeld)
        {
            DeclareLost(partition, output);
            output.Add(item);
            return;
        }
        (partition.Held ??= []).Add(item);
    }

    /// <summary>The read ended: partitions still searching never met their last line and are declared lost.</summary>
    public void Finish(List<T?> output)
    {
        foreach (var partition in _partitions.Values)
        {
            if (partition.State == SearchState.Searching && partition.Held is { Count: > 0 })
                DeclareLost(partition, output);
        }
    }

    private void DeclareLost(Partition partition, List<T?> output)
    {
        partition.State = SearchState.Lost;
        _searching--;
        Lost++;
        output.Add(null);
        if (partition.Held is { } held)
            output.AddRange(held);
        partition.Held = null;
    }

    private enum SearchState
    {
        Searching,
        Found,
        Lost,
    }

    private sealed class Partition(PartitionPosition at)
    {
        public PartitionPosition At { get; } = at;
        public SearchState State { get; set; }
        public List<T>? Held { get; set; }
    }
}
