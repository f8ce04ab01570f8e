using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Positions;

/// <summary>
/// Deterministic 64-bit identities (FNV-1a) of lines, partitions and stream keys. They go into resume cursors, so they
/// must be the same in every process and on every instance: <see cref="HashCode"/> is randomised per process and
/// cannot be used.
/// </summary>
public static class LineIdentity
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>
    /// A line's identity: its timestamp (nanoseconds), its output and its text. Two lines with all three equal are the
    /// same line read twice (Docker repeats lines around a json-file rotation, and a reopened read starts with lines
    /// already passed on); a container does not write two identical lines in the same nanosecond on the same output.
    /// </summary>
    public static ulong Of(SourceRecord record)
    {
        var hash = Mix(Offset, (ulong)record.Timestamp.UnixNanoseconds);
        hash = Mix(hash, (ulong)record.Stream);
        return Mix(hash, record.Text);
    }

    /// <summary>A partition's identity (a task id, or "" for a source that is one partition).</summary>
    public static ulong OfPartition(string partition) => Mix(Offset, partition);

    /// <summary>A stream key's identity: binds a cursor to the resource it was given for.</summary>
    public static ulong OfKey(StreamKey key) =>
        Mix(Mix(Mix(Mix(Offset, key.HostId), key.SourceType.ToWire()), key.ResourceId), (ulong)key.Streams);

    private static ulong Mix(ulong hash, ulong value)
    {
        for (var i = 0; i < 8; i++)
        {
            hash ^= (byte)(value >> (i * 8));
            hash *= Prime;
        }
        return hash;
    }

    private static ulong Mix(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash ^= (byte)c;
            hash *= Prime;
            hash ^= (byte)(c >> 8);
            hash *= Prime;
        }
        // A separator, so ("ab","c") and ("a","bc") differ.
        hash ^= 0xFF;
        return hash * Prime;
    }
}
