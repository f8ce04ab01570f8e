using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// Gathers lines into one <c>batch</c> frame, <c>{"type":"batch","entries":[…],"count":N}</c>, by copying each line's
/// shared pre-encoded <c>log</c> frame: nothing is serialised again per client. Opt-in (<c>format=batch</c>): the old
/// frontend knows only one line per frame.
/// The frame is built in a buffer rented from <see cref="ArrayPool{T}.Shared"/> on the first line and grown as the
/// batch needs; <see cref="Release"/> gives it back, so an idle session holds no buffer at all.
/// </summary>
internal sealed class BatchFrameWriter(int maxEntries, int maxBytes)
{
    private const int InitialBytes = 4096;
    private static ReadOnlySpan<byte> Header => """{"type":"batch","entries":["""u8;
    private static ReadOnlySpan<byte> Footer => """],"count":"""u8;
    private byte[]? _buffer;
    private int _written;

    public int Count { get; private set; }

    /// <summary>The newest line of the current batch, for delivery metrics once it is sent.</summary>
    public LogEntry? Newest { get; private set; }

    /// <summary>Adds a line; true when the batch is full and should be sent now.</summary>
    public bool Add(LogEntry entry, LogFrameFormat format) => Add(entry, entry.GetFrame(format));

    /// <summary>Adds a line given as its frame (this client's own copy, e.g. with its filter's matches); true when full.</summary>
    public bool Add(LogEntry entry, byte[] frame)
    {
        if (Count == 0)
            Write(Header);
        else
            Write(","u8);
        Write(frame);
        Count++;
        Newest = entry;
        return Count >= maxEntries || _written >= maxBytes;
    }

    /// <summary>Closes the frame and returns its bytes, valid until <see cref="Clear"/> or <see cref="Release"/>.</summary>
    public ReadOnlyMemory<byte> Complete()
    {
        Write(Footer);
        Span<byte> digits = stackalloc byte[11];
        Count.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
        Write(digits[..written]);
        Write("}"u8);
        return _buffer.AsMemory(0, _written);
    }

    /// <summary>Starts a new batch in the same buffer.</summary>
    public void Clear()
    {
        _written = 0;
        Count = 0;
        Newest = null;
    }

    /// <summary>Drops the current batch (if any) and returns the buffer to the pool; the next line rents one again.</summary>
    public void Release()
    {
        Clear();
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        var needed = _written + bytes.Length;
        if (_buffer is null || needed > _buffer.Length)
            Grow(needed);
        bytes.CopyTo(_buffer.AsSpan(_written));
        _written = needed;
    }

    [MemberNotNull(nameof(_buffer))]
    private void Grow(int needed)
    {
        // Room for a full batch at most (maxBytes, then the line that crossed it and the footer), unless one line needs more.
        var size = Math.Max(needed, Math.Min(Math.Max(InitialBytes, (_buffer?.Length ?? 0) * 2), maxBytes + 1024));
        var larger = ArrayPool<byte>.Shared.Rent(size);
        if (_buffer is { } old)
        {
            old.AsSpan(0, _written).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(old);
        }
        _buffer = larger;
    }
}
