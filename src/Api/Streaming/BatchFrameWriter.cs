using System.Buffers;
using System.Globalization;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// Gathers lines into one <c>batch</c> frame, <c>{"type":"batch","entries":[…],"count":N}</c>, by copying each line's
/// shared pre-encoded <c>log</c> frame: nothing is serialised again per client. Opt-in (<c>format=batch</c>): the old
/// frontend knows only one line per frame.
/// </summary>
internal sealed class BatchFrameWriter(int maxEntries, int maxBytes)
{
    private static readonly byte[] Header = """{"type":"batch","entries":["""u8.ToArray();
    private readonly ArrayBufferWriter<byte> _buffer = new(maxBytes + 1024);
    private readonly List<LogEntry> _entries = new(maxEntries);

    public int Count => _entries.Count;

    /// <summary>The lines in the current batch, for delivery metrics once it is sent.</summary>
    public IReadOnlyList<LogEntry> Entries => _entries;

    /// <summary>Adds a line; true when the batch is full and should be sent now.</summary>
    public bool Add(LogEntry entry, LogFrameFormat format)
    {
        if (_entries.Count == 0)
            _buffer.Write(Header);
        else
            _buffer.Write(","u8);
        _buffer.Write(entry.GetFrame(format));
        _entries.Add(entry);
        return _entries.Count >= maxEntries || _buffer.WrittenCount >= maxBytes;
    }

    /// <summary>Closes the frame and returns its bytes, valid until <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Complete()
    {
        _buffer.Write("""],"count":"""u8);
        Span<byte> digits = stackalloc byte[11];
        _entries.Count.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
        _buffer.Write(digits[..written]);
        _buffer.Write("}"u8);
        return _buffer.WrittenMemory;
    }

    public void Clear()
    {
        _buffer.ResetWrittenCount();
        _entries.Clear();
    }
}
