using System.Buffers;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.Reading;

/// <summary>
/// The bytes of one output not yet turned into messages, in a pooled array. Messages are consumed from the front by
/// moving a start offset; the live bytes are moved back to the front once per append, not once per message, so a
/// chunk of a thousand short lines costs one copy. Also remembers how far the current message was already searched,
/// so a long line arriving in small reads is not searched again from its start each time.
/// </summary>
internal sealed class PendingBytes : IDisposable
{
    /// <summary>Body start of a message whose header is not decided yet; 0 means the message has no timestamp.</summary>
    public const int HeaderUnknown = -1;

    private const int InitialCapacity = 4096;

    private byte[] _bytes = [];
    private int _start;
    private int _end;

    public int Length => _end - _start;

    public ReadOnlySpan<byte> Span => _bytes.AsSpan(_start, _end - _start);

    /// <summary>Where the current message's text starts, once its header is decided.</summary>
    public int BodyStart { get; set; } = HeaderUnknown;

    /// <summary>The current message's timestamp, once its header is decided and it has one.</summary>
    public LogTimestamp Timestamp { get; set; }

    /// <summary>Where the current message's timestamp and its space end (the details start there, if any).</summary>
    public int TimestampEnd { get; set; }

    /// <summary>Bytes of the current message already known to hold no newline.</summary>
    public int NewlineScanned { get; set; }

    /// <summary>Offset from which the search for a repeated header (the next partial message) goes on.</summary>
    public int ContinuationScanned { get; set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        var length = Length;
        if (_start > 0)
        {
            // Overlapping copy: Span.CopyTo behaves as memmove.
            _bytes.AsSpan(_start, length).CopyTo(_bytes);
            _start = 0;
            _end = length;
        }
        if (_end + data.Length > _bytes.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(InitialCapacity, Math.Max(_end + data.Length, _bytes.Length * 2)));
            _bytes.AsSpan(0, _end).CopyTo(larger);
            ReturnArray();
            _bytes = larger;
        }
        data.CopyTo(_bytes.AsSpan(_end));
        _end += data.Length;
    }

    /// <summary>Drops the first <paramref name="count"/> bytes (one message) and forgets what was known about it.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start >= _end)
            _start = _end = 0;
        BodyStart = HeaderUnknown;
        Timestamp = default;
        TimestampEnd = 0;
        NewlineScanned = 0;
        ContinuationScanned = 0;
    }

    public void Dispose()
    {
        ReturnArray();
        _bytes = [];
        _start = _end = 0;
    }

    private void ReturnArray()
    {
        if (_bytes.Length > 0)
            ArrayPool<byte>.Shared.Return(_bytes);
    }
}
