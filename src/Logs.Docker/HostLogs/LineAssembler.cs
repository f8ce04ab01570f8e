using System.Text;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Cuts a byte stream into lines as chunks arrive (a file read, a process's or a reader container's output). A line
/// longer than the limit is cut there and the rest of it skipped, so one runaway line cannot grow the buffer.
/// Offsets count from where the assembler was started or last <see cref="Reset"/>.
/// </summary>
internal sealed class LineAssembler(int maxLineBytes)
{
    private readonly byte[] _pending = new byte[Math.Max(1, maxLineBytes)];
    private int _count;
    private bool _overflow;
    private long _lineStart;
    private long _position;

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
            var room = _pending.Length - _count;
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
        var length = _count > 0 && _pending[_count - 1] == (byte)'\r' ? _count - 1 : _count;
        var line = new RawLine(Encoding.UTF8.GetString(_pending, 0, length), _lineStart);
        _count = 0;
        _overflow = false;
        _lineStart = _position;
        return line;
    }
}
