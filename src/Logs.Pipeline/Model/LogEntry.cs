using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Pipeline.Model;

/// <summary>
/// One sequenced line of one stream. Immutable and shared by every subscriber: the pipeline never clones it,
/// and each wire form is encoded once, on first use, and the same bytes go to every client.
/// </summary>
public sealed class LogEntry : StreamItem
{
    private readonly byte[]?[] _frames = new byte[]?[LogFrameEncoder.FormatCount];

    public LogEntry(StreamKey key, long sequence, string epoch, SourceRecord record, ulong line = 0, StreamPosition? position = null)
    {
        Key = key;
        Sequence = sequence;
        Epoch = epoch;
        Record = record;
        Line = line;
        Position = position;
    }

    public StreamKey Key { get; }

    /// <summary>1, 2, 3… within one stream epoch; 0 for an unsequenced entry (the legacy path).</summary>
    public long Sequence { get; }

    /// <summary>Identifies one life of a shared stream: sequence numbers restart when a stream is opened anew.</summary>
    public string Epoch { get; }

    public SourceRecord Record { get; }

    /// <summary>The line's identity (<see cref="LineIdentity.Of"/>); 0 where positions are not tracked (the legacy path).</summary>
    public ulong Line { get; }

    /// <summary>The stream's position right after this line: what its <c>cursor</c> field encodes; null without one.</summary>
    public StreamPosition? Position { get; }

    /// <summary>A marker, not a line: the source said lines are missing here (the daemon's message).</summary>
    public bool IsIncompleteMarker => Record.Incomplete is not null;

    public LogTimestamp Timestamp => Record.Timestamp;
    public string Text => Record.Text;

    /// <summary>Approximate bytes held, for the replay buffer's byte bound.</summary>
    public int ApproximateSize => 96 + Record.Text.Length * sizeof(char);

    /// <summary>The entry's frame in the given format, encoded on first use and then shared.</summary>
    public byte[] GetFrame(LogFrameFormat format)
    {
        var index = (int)format;
        var frame = Volatile.Read(ref _frames[index]);
        if (frame is not null)
            return frame;
        // Two subscribers may race to encode; both produce the same bytes and the first stored wins.
        var encoded = LogFrameEncoder.EncodeLog(this, format);
        return Interlocked.CompareExchange(ref _frames[index], encoded, null) ?? encoded;
    }
}
