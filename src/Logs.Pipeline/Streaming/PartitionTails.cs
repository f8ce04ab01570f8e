using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The newest lines of each partition of a stream (each task of a service), kept apart from the replay ring so a
/// quiet replica's or an exited task's lines are not pushed out by busy ones: a <c>tail</c> is then the same lines
/// <c>docker service logs --tail N</c> gives, which counts per task. At most <c>perPartition</c> lines per partition
/// and <c>maxPartitions</c> partitions; beyond that the partition whose newest line is oldest goes, and a tail
/// taken afterwards says it may be short. Not thread-safe: the owning <see cref="LogStream"/> guards it.
/// </summary>
internal sealed class PartitionTails(string partitionKey, int perPartition, int maxPartitions)
{
    private readonly Dictionary<string, Queue<LogEntry>> _partitions = new(StringComparer.Ordinal);
    private bool _evicted;

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
            lines.Dequeue();
        lines.Enqueue(entry);
    }

    /// <summary>
    /// The newest <paramref name="tail"/> lines of every partition, in sequence order. <c>Complete</c> is false when a
    /// partition was dropped for the partition bound (its lines can no longer be given).
    /// </summary>
    public (LogEntry[] Entries, bool Complete) Last(int tail)
    {
        var picked = new List<LogEntry>();
        foreach (var lines in _partitions.Values)
            picked.AddRange(lines.Skip(Math.Max(0, lines.Count - tail)));
        picked.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        return ([.. picked], !_evicted && tail <= perPartition);
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
        if (quietest is not null)
            _partitions.Remove(quietest);
        _evicted = true;
    }
}
