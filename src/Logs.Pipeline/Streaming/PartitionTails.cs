using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The newest lines of each partition of a stream (each task of a service), kept apart from the replay ring so a
/// quiet replica's or an exited task's lines are not pushed out by busy ones: a <c>tail</c> is then the same lines
/// <c>docker service logs --tail N</c> gives, which counts per task. At most <c>perPartition</c> lines per partition
/// and <c>maxPartitions</c> partitions; beyond that the partition whose newest line is oldest goes, and a tail
/// taken afterwards says it may be short. Not thread-safe: the owning <see cref="LogStream"/> guards it.
/// </summary>
internal sealed class PartitionTails(string partitionKey, int perPartition, int maxPartitions, long maxBytes)
{
    private readonly Dictionary<string, Queue<LogEntry>> _partitions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _trimmedTo = new(StringComparer.Ordinal);
    private bool _evicted;
    private long _bytes;

    /// <summary>Bytes held (<see cref="LogEntry.ApproximateSize"/>), bounded like one replay buffer.</summary>
    public long Bytes => _bytes;

    /// <summary>True once a partition was dropped for the partition bound: a tail no longer holds a line of every partition passed on.</summary>
    public bool DroppedPartition => _evicted;

    public void Append(LogEntry entry)
    {
        if (entry.IsIncompleteMarker)
            return;
        var partition = entry.Record.Metadata is { } metadata && metadata.TryGetValue(partitionKey, out var value) ? value : "";
        if (!_partitions.TryGetValue(partition, out var lines))
        {
            if (_partitions.Count >= maxPartitions)
                EvictQuietest();
            _partitions[partition] = lines = new Queue<LogEntry>();
        }
        if (lines.Count == perPartition)
            _bytes -= lines.Dequeue().ApproximateSize;
        lines.Enqueue(entry);
        _bytes += entry.ApproximateSize;
        // Over the byte bound, the partition holding the most lines gives its oldest (each keeps its newest line),
        // and a tail deeper than what it kept is reported as possibly short.
        while (_bytes > maxBytes && TrimLargest())
        {
        }
    }

    private bool TrimLargest()
    {
        string? largest = null;
        var most = 1;
        foreach (var (partition, held) in _partitions)
        {
            if (held.Count > most)
            {
                most = held.Count;
                largest = partition;
            }
        }
        if (largest is null)
            return false;
        var lines = _partitions[largest];
        _bytes -= lines.Dequeue().ApproximateSize;
        _trimmedTo[largest] = lines.Count;
        return true;
    }

    /// <summary>
    /// The newest <paramref name="tail"/> lines of every partition, in sequence order. <c>Complete</c> is false when a
    /// partition was dropped for the partition bound (its lines can no longer be given).
    /// </summary>
    public (LogEntry[] Entries, bool Complete) Last(int tail)
    {
        var picked = new List<LogEntry>();
        var complete = !_evicted && tail <= perPartition;
        foreach (var (partition, lines) in _partitions)
        {
            picked.AddRange(lines.Skip(Math.Max(0, lines.Count - tail)));
            if (lines.Count < tail && _trimmedTo.ContainsKey(partition))
                complete = false;
        }
        picked.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        return ([.. picked], complete);
    }

    private void EvictQuietest()
    {
        string? quietest = null;
        long oldest = long.MaxValue;
        foreach (var (partition, lines) in _partitions)
        {
            var newest = lines.Count > 0 ? lines.Last().Sequence : 0;
            if (newest < oldest)
            {
                oldest = newest;
                quietest = partition;
            }
        }
        if (quietest is not null && _partitions.Remove(quietest, out var gone))
        {
            foreach (var entry in gone)
                _bytes -= entry.ApproximateSize;
            _trimmedTo.Remove(quietest);
        }
        _evicted = true;
    }
}
