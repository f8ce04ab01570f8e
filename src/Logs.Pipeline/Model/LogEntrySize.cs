using System.Buffers;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Pipeline.Model;

/// <summary>
/// What one <see cref="LogEntry"/> keeps alive, in bytes, for the byte bounds of the replay buffers, the subscriber
/// queues and the process-wide budget.
/// <para>
/// The entry caches one encoded frame per <see cref="LogFrameFormat"/>, each made lazily on its first send. The estimate
/// counts every format's frame up front (the worst case) instead of charging a frame when it is made: an entry is held
/// by a replay buffer and by many queues at once, none of which sees the encoding happen, and a size that changes
/// under them would make what they add and what they remove disagree. Counting both frames overstates an entry whose
/// clients all use one format by about one frame; it never understates one.
/// </para>
/// <para>
/// A frame's length is estimated from the JSON the encoder writes without writing it: the line twice (<c>data</c> and
/// <c>message</c>) escaped as the encoder escapes it, the ids, the metadata and a fixed allowance for the field names
/// and bounded values. Text that is ASCII is counted exactly; any other character is counted as its longest form
/// (<c>\uXXXX</c>, 6 bytes), because the relaxed encoder escapes unassigned code points. The metadata dictionary itself
/// is not counted: sources share one instance between the lines of a container or task; its copy inside each frame is.
/// </para>
/// </summary>
internal static class LogEntrySize
{
    /// <summary>The LogEntry, its frame slots, its SourceRecord, and the headers of the text string and of each frame array.</summary>
    private const int ObjectOverhead = 64 + (24 + 8 * LogFrameEncoder.FormatCount) + 64 + 24;

    private const int ArrayHeader = 24;

    /// <summary>
    /// Field names and punctuation of a log frame (about 150 bytes), plus the longest value of each bounded field:
    /// timestamp (30), level (8), source type (9), stream (6), seq (19 digits) and <c>timestamp_source</c> (29).
    /// </summary>
    internal const int FrameFixedBytes = 256;

    /// <summary>The <c>docker logs -t</c> prefix ("2024-01-01T00:00:00.000000000Z "), written into data and message.</summary>
    private const int TimestampPrefixBytes = 31;

    /// <summary>Printable ASCII the encoder writes as it is: everything but controls, DEL, the quote and the backslash.</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    public static int Estimate(LogEntry entry)
    {
        var record = entry.Record;
        var text = EscapedLength(record.Text);
        var common = FrameFixedBytes + ArrayHeader
                     + EscapedLength(entry.Key.ResourceId) + EscapedLength(entry.Key.HostId) + EscapedLength(entry.Epoch);
        if (record.Metadata is { } metadata)
        {
            foreach (var (name, value) in metadata)
                common += EscapedLength(name) + EscapedLength(value) + 6;
        }
        if (entry.Position is { } position)
        {
            // The cursor field (base64 of 35 bytes plus 24 a partition, and its name) in each frame.
            common += 12 + (35 + 24 * position.Partitions.Count + 2) / 3 * 4;
        }
        var frames = 0L;
        for (var format = 0; format < LogFrameEncoder.FormatCount; format++)
            frames += common + 2L * (text + ((LogFrameFormat)format == LogFrameFormat.JsonTimestamped ? TimestampPrefixBytes : 0));
        // Each entry's position owns its copy of the partitions array (24 bytes a partition, plus the object).
        var positions = entry.Position is { } held ? 48 + 24L * held.Partitions.Count : 0;
        var total = ObjectOverhead + 2L * record.Text.Length + frames + positions;
        return (int)Math.Min(total, int.MaxValue);
    }

    /// <summary>Bytes of <paramref name="value"/> as a JSON string body written by the frame encoder (an upper bound).</summary>
    internal static int EscapedLength(string value)
    {
        var span = value.AsSpan();
        var length = span.Length;
        while (true)
        {
            var i = span.IndexOfAnyExcept(Plain);
            if (i < 0)
                return length;
            length += span[i] switch
            {
                '"' or '\\' or '\b' or '\t' or '\n' or '\f' or '\r' => 1,
                // Other controls and DEL become \u00XX; any other character is at most \uXXXX (a surrogate pair
                // is two of them, or 4 UTF-8 bytes for 2 chars).
                _ => 5,
            };
            span = span[(i + 1)..];
        }
    }
}
