using System.Text;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Cuts a byte stream into lines as chunks arrive (a file read, a process's or a reader container's output). A line
/// longer than the limit is cut there (at a whole character) and the rest of it skipped, so one runaway line cannot
/// grow the buffer past the limit; the buffer starts small and grows only as long lines need it (a journal's limit is
/// several times MaxLineBytes, and most lines are short). Offsets count from where the assembler was started or last
/// <see cref="Reset"/>.
/// </summary>
internal sealed class LineAssembler(int maxLineBytes)
{
    private const int InitialBytes = 4096;
    private readonly int _max = Math.Max(1, maxLineBytes);
    private byte[] _pending = new byte[Math.Min(InitialBytes, Math.Max(1, maxLineBytes))];
    private int _count;
    private bool _overflow;
    private long _lineStart;
    private long _position;

    /// <summary>The bytes the buffer holds now (grows on demand up to the limit).</summary>
    internal int Capacity => _pending.Length;

    /// <summary>Where the next byte appended sits.</summary>
    public long Position => _position;

    /// <summary>True while part of a line is held (the data ended without a newline).</summary>
    public bool HasPartialLine => _count > 0 || _overflow;

    /// <summary>Starts again at <paramref name="offset"/>, dropping a partial line (a truncated file starts over).</summary>
    public void Reset(long offset)
    {
        _count = 0;
        _overflow = false;
        _lineStart = offset;
        _position = offset;
    }

    public void Append(ReadOnlySpan<byte> data, List<RawLine> output)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var part = newline < 0 ? data : data[..newline];
            if (!_overflow && part.Length > _pending.Length - _count && _pending.Length < _max)
                Array.Resize(ref _pending, (int)Math.Min(_max, Math.Max((long)_pending.Length * 2, (long)_count + part.Length)));
            var room = _overflow ? 0 : _pending.Length - _count;
            if (part.Length > room)
                _overflow = true;
            part[..Math.Min(room, part.Length)].CopyTo(_pending.AsSpan(_count));
            _count += Math.Min(room, part.Length);
            if (newline < 0)
            {
                _position += data.Length;
                return;
            }
            _position += newline + 1;
            output.Add(Take());
            data = data[(newline + 1)..];
        }
    }

    /// <summary>The partial line held, as a line: the data ended for good (a history read, a process that exited).</summary>
    public RawLine? Flush() => HasPartialLine ? Take() : null;

    private RawLine Take()
    {
        var length = _overflow ? WholeCharacters(_pending.AsSpan(0, _count)) : _count > 0 && _pending[_count - 1] == (byte)'\r' ? _count - 1 : _count;
        var line = new RawLine(Encoding.UTF8.GetString(_pending, 0, length), _lineStart, _overflow);
        _count = 0;
        _overflow = false;
        _lineStart = _position;
        return line;
    }

    /// <summary>How many of a cut line's bytes end on a whole UTF-8 character (a cut in the middle of one is backed off).</summary>
    private static int WholeCharacters(ReadOnlySpan<byte> bytes)
    {
        var start = bytes.Length;
        // Back to the last byte that starts a character (at most 3 continuation bytes).
        while (start > 0 && bytes.Length - start < 4 && (bytes[start - 1] & 0xC0) == 0x80)
            start--;
        if (start == 0 || (bytes[start - 1] & 0x80) == 0)
            return bytes.Length;
        var lead = bytes[start - 1];
        var needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return bytes.Length - (start - 1) >= needed ? bytes.Length : start - 1;
    }
}
