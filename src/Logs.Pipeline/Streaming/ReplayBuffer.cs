using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// The most recent entries of one stream, bounded in count and in bytes (<see cref="LogEntry.ApproximateSize"/>, cached
/// frames included); the oldest go first. Its bytes are charged to the process-wide <see cref="BufferBudget"/>, and
/// over that budget it drops its own oldest lines (never another stream's) until it is back under or holds one line.
/// Entries are appended in sequence order with no holes, so an entry's place is found from its sequence number.
/// Not thread-safe: the owning <see cref="LogStream"/> guards it with its lock.
/// </summary>
internal sealed class ReplayBuffer(int maxEntries, long maxBytes, BufferBudget? budget = null)
{
    private readonly LogEntry[] _ring = new LogEntry[maxEntries];
    private int _start;
    private long _bytes;
    private bool _released;

    public int Count { get; private set; }
    public long Bytes => _bytes;

    /// <summary>Sequence number of the newest entry, 0 when nothing was ever appended.</summary>
    public long HeadSequence { get; private set; }

    /// <summary>Sequence number of the oldest entry still held; <see cref="HeadSequence"/> + 1 when empty.</summary>
    public long OldestSequence => HeadSequence - Count + 1;

    public void Append(LogEntry entry)
    {
        if (Count == _ring.Length)
            RemoveOldest();
        _ring[(_start + Count) % _ring.Length] = entry;
        Count++;
        var size = entry.ApproximateSize;
        _bytes += size;
        Charge(size);
        HeadSequence = entry.Sequence;
        // Keep at least the newest entry even if it alone is larger than the byte bound.
        while ((_bytes > maxBytes || budget is { IsExceeded: true }) && Count > 1)
            RemoveOldest();
    }

    /// <summary>
    /// Gives this buffer's bytes back to the budget when its stream has ended for good (the graph has completed, so
    /// nothing appends any more). What it holds stays readable; it is no longer counted. Idempotent.
    /// </summary>
    public void ReleaseBudget()
    {
        if (_released)
            return;
        budget?.ChargeReplay(-_bytes);
        _released = true;
    }

    /// <summary>Entries with a sequence number greater than <paramref name="sequence"/> still held, oldest first.</summary>
    public LogEntry[] After(long sequence)
    {
        var first = Math.Max(sequence + 1, OldestSequence);
        var count = (int)Math.Max(0, HeadSequence - first + 1);
        var result = new LogEntry[count];
        var offset = (int)(first - OldestSequence);
        for (var i = 0; i < count; i++)
            result[i] = _ring[(_start + offset + i) % _ring.Length];
        return result;
    }

    private void Charge(long bytes)
    {
        if (!_released)
            budget?.ChargeReplay(bytes);
    }

    private void RemoveOldest()
    {
        var size = _ring[_start].ApproximateSize;
        _bytes -= size;
        Charge(-size);
        _ring[_start] = null!;
        _start = (_start + 1) % _ring.Length;
        Count--;
    }
}
