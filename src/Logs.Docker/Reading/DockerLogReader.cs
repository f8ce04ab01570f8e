using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.Reading;

/// <summary>
/// Turns one Docker log stream (container or service, multiplexed or TTY, always read with
/// <c>timestamps=1</c>) into whole lines. One instance per stream: it keeps the bytes of unfinished lines.
/// <list type="bullet">
/// <item>A read is not a line: bytes are gathered per output until a newline, the end of a frame, or the end of
/// the stream, so a last line without a newline is kept and a UTF-8 character split across reads decodes whole
/// (a line is decoded only once complete).</item>
/// <item>Docker stores a line longer than 16 KiB as partial messages and sends each with the same timestamp (and
/// details) again. Where the frames are not visible, a partial ends where its header repeats, searched from 16 KiB
/// into its text on (not exactly there: json-file replaces a UTF-8 character cut at the boundary by U+FFFD, which
/// makes the message longer). Partials are held per output and per details (one replica's partial may be followed
/// by another replica's line) until the message that completes them.</item>
/// <item>Lines of Docker's system-error channel, and TTY lines with no timestamp that start as the daemon's
/// in-stream error does, are not log lines: they come in order with the lines, marked
/// <see cref="DockerLogLine.IsDaemonError"/>, for the source to act on (a container's read has failed; a service's
/// stream misses a node's lines).</item>
/// </list>
/// Buffers are pooled or reused; the steady-state allocations are each line's string and record.
/// </summary>
internal sealed class DockerLogReader
{
    /// <summary>Docker's log copier cuts longer lines into partial messages of this many bytes of text.</summary>
    public const int PartialMessageBytes = 16 * 1024;

    /// <summary>A line is passed on in pieces beyond this size, so an endless line cannot exhaust memory.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    /// <summary>Longest timestamp looked for before the first space ("2026-11-27T02:01:34.474920774Z" is 30; an offset adds 5).</summary>
    private const int MaxTimestampBytes = 40;

    /// <summary>Longest <c>details</c> attribute list looked for after the timestamp; a longer one stays in the text.</summary>
    private const int MaxDetailsBytes = 4096;

    /// <summary>Distinct details strings kept for reuse (one per task of a service); the cache is cleared beyond it.</summary>
    private const int MaxCachedDetails = 1024;

    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>A held-line buffer grown past this by a very long line is left to the GC instead of kept.</summary>
    private const int MaxRecycledHeldBytes = 256 * 1024;

    /// <summary>What the daemon writes on the system-error channel, or in band on a TTY stream, when reading fails.</summary>
    private const string DaemonErrorPrefix = "Error grabbing logs: ";

    private const byte Newline = (byte)'\n';
    private const byte CarriageReturn = (byte)'\r';
    private const byte Space = (byte)' ';
    private const int HeaderUnknown = PendingBytes.HeaderUnknown;

    private readonly string _hostId;
    private readonly bool _tty;
    private readonly bool _details;
    private readonly TimeProvider _time;
    private readonly PendingBytes?[] _pending = new PendingBytes?[(int)DockerOutput.SystemError + 1];
    private readonly Dictionary<(DockerOutput Output, string? Details), HeldLine> _held = [];
    private readonly Dictionary<string, string> _detailsCache = new(StringComparer.Ordinal);
    private readonly Queue<DockerLogLine> _ready = new();
    private HeldLine? _spareHeld;

    /// <param name="hostId">For error messages.</param>
    /// <param name="tty">The stream is a TTY's: lines end in <c>\r\n</c>.</param>
    /// <param name="details">The stream was read with <c>details=1</c>: an attribute list follows the timestamp.</param>
    /// <param name="time">Clock for lines that carry no timestamp.</param>
    public DockerLogReader(string hostId, bool tty, bool details, TimeProvider time)
    {
        _hostId = hostId;
        _tty = tty;
        _details = details;
        _time = time;
    }

    /// <summary>
    /// Reads the stream to its end. Transport failures become <see cref="Pipeline.Sources.LogSourceException"/>
    /// Unavailable; a cancellation stays a cancellation even when the transport reports it as an I/O error.
    /// </summary>
    public async IAsyncEnumerable<DockerLogLine> ReadAsync(IDockerLogChunkSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferBytes);
        try
        {
            while (true)
            {
                var chunk = await ReadChunkAsync(source, buffer, cancellationToken).ConfigureAwait(false);
                if (chunk.IsEnd)
                    break;
                Accept(chunk.Output, buffer.AsSpan(0, chunk.Count), chunk.EndsMessage);
                while (_ready.TryDequeue(out var line))
                    yield return line;
            }
            Flush();
            while (_ready.TryDequeue(out var line))
                yield return line;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            foreach (var pending in _pending)
                pending?.Dispose();
        }
    }

    private void Accept(DockerOutput output, ReadOnlySpan<byte> data, bool endsMessage)
    {
        var pending = _pending[(int)output] ??= new PendingBytes();
        pending.Append(data);
        Drain(output, pending, endOfMessage: endsMessage);
    }

    /// <summary>The end of the stream: unfinished messages and held partials are lines of their own.</summary>
    private void Flush()
    {
        for (var i = 0; i < _pending.Length; i++)
        {
            if (_pending[i] is { Length: > 0 } pending)
                Drain((DockerOutput)i, pending, endOfMessage: true);
        }
        foreach (var ((output, details), held) in _held)
            Emit(output, held.Timestamp, details, held.Body.WrittenSpan, terminated: false);
        _held.Clear();
    }

    /// <summary>
    /// Cuts every complete message off the front of an output's bytes. A message ends at a newline, where its header
    /// repeats (a partial message, followed by the next part), or, when <paramref name="endOfMessage"/> says Docker's
    /// message ended there (a frame end, the stream's end), at the last byte.
    /// </summary>
    private void Drain(DockerOutput output, PendingBytes pending, bool endOfMessage)
    {
        while (pending.Length > 0)
        {
            var span = pending.Span;
            var newline = span[pending.NewlineScanned..].IndexOf(Newline);
            if (newline >= 0)
                newline += pending.NewlineScanned;
            else
                pending.NewlineScanned = span.Length;

            var messageEnd = newline >= 0 ? newline : span.Length;
            if (pending.BodyStart == HeaderUnknown)
                pending.BodyStart = FindBodyStart(span[..messageEnd], final: newline >= 0 || endOfMessage, pending);
            if (pending.BodyStart == HeaderUnknown)
                return;

            var continuation = pending.BodyStart > 0 ? FindContinuation(pending, messageEnd) : -1;
            int cut;
            bool terminated, partial;
            if (continuation >= 0)
                (cut, terminated, partial) = (continuation, false, true);
            else if (newline >= 0)
                (cut, terminated, partial) = (newline, true, false);
            else if (endOfMessage)
                (cut, terminated, partial) = (span.Length, false, pending.BodyStart > 0 && span.Length - pending.BodyStart >= PartialMessageBytes);
            else if (span.Length - pending.BodyStart >= MaxLineBytes)
                (cut, terminated, partial) = (span.Length, false, false);
            else
                return;

            Complete(output, span[..cut], pending, terminated, partial);
            pending.Consume(terminated ? cut + 1 : cut);
        }
    }

    /// <summary>
    /// Where the next partial message of the same line starts (its header repeated), searched from 16 KiB into the
    /// text up to <paramref name="limit"/>; -1 if not there yet. The search resumes where it stopped, minus a header's
    /// length, in case a header was cut by the end of the bytes so far.
    /// </summary>
    private static int FindContinuation(PendingBytes pending, int limit)
    {
        var span = pending.Span;
        var header = span[..pending.BodyStart];
        var from = Math.Max(pending.BodyStart + PartialMessageBytes, pending.ContinuationScanned);
        if (from >= limit)
            return -1;
        var found = span[from..limit].IndexOf(header);
        if (found >= 0)
            return from + found;
        pending.ContinuationScanned = Math.Max(from, limit - header.Length + 1);
        return -1;
    }

    private async ValueTask<DockerLogChunk> ReadChunkAsync(IDockerLogChunkSource source, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            // Disposing or cancelling a stream under a pending read surfaces as an I/O error: it is still a cancellation.
            throw new OperationCanceledException("The log read was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && DockerErrors.TryTranslate(ex, _hostId, DockerErrors.ContainerApiError, out var translated))
        {
            throw translated;
        }
    }

    /// <summary>
    /// Where the text of a message starts: after "timestamp " (and "details " on a details read); 0 when the
    /// message does not start with a timestamp; <see cref="HeaderUnknown"/> when more bytes are needed to tell.
    /// The timestamp found is kept in <paramref name="pending"/>, so each line's is parsed once.
    /// </summary>
    private int FindBodyStart(ReadOnlySpan<byte> message, bool final, PendingBytes pending)
    {
        var space = message[..Math.Min(message.Length, MaxTimestampBytes + 1)].IndexOf(Space);
        if (space < 0)
            return final || message.Length > MaxTimestampBytes ? 0 : HeaderUnknown;
        if (!TryParseTimestamp(message[..space], out var timestamp))
            return 0;
        var timestampEnd = space + 1;
        var bodyStart = HeaderUnknown;
        if (!_details)
        {
            bodyStart = timestampEnd;
        }
        else
        {
            var rest = message[timestampEnd..];
            var detailsEnd = rest[..Math.Min(rest.Length, MaxDetailsBytes + 1)].IndexOf(Space);
            if (detailsEnd >= 0)
                bodyStart = timestampEnd + detailsEnd + 1;
            else if (final || rest.Length > MaxDetailsBytes)
                bodyStart = timestampEnd;
        }
        if (bodyStart != HeaderUnknown)
        {
            pending.Timestamp = timestamp;
            pending.TimestampEnd = timestampEnd;
        }
        return bodyStart;
    }

    private void Complete(DockerOutput output, ReadOnlySpan<byte> message, PendingBytes pending, bool terminated, bool partial)
    {
        var bodyStart = pending.BodyStart;
        LogTimestamp? timestamp = bodyStart > 0 ? pending.Timestamp : null;
        var details = bodyStart > pending.TimestampEnd && bodyStart > 0
            ? InternDetails(message[pending.TimestampEnd..(bodyStart - 1)])
            : null;
        Join(output, timestamp, details, message[bodyStart..], partial, terminated);
    }

    private void Join(DockerOutput output, LogTimestamp? timestamp, string? details, ReadOnlySpan<byte> body, bool partial, bool terminated)
    {
        var key = (output, details);
        if (_held.TryGetValue(key, out var held))
        {
            if (held.Timestamp == timestamp)
            {
                held.Body.Write(body);
                if (partial && held.Body.WrittenCount < MaxLineBytes)
                    return;
                _held.Remove(key);
                Emit(output, timestamp, details, held.Body.WrittenSpan, terminated);
                Recycle(held);
                return;
            }
            // Not its continuation: the held partial's last part never came, so it is a line of its own.
            _held.Remove(key);
            Emit(output, held.Timestamp, details, held.Body.WrittenSpan, terminated: false);
            Recycle(held);
        }
        if (partial)
        {
            var line = _spareHeld ?? new HeldLine();
            _spareHeld = null;
            line.Timestamp = timestamp;
            line.Body.Write(body);
            _held[key] = line;
            return;
        }
        Emit(output, timestamp, details, body, terminated);
    }

    /// <summary>Keeps one held-line buffer for the next long line, unless a huge line made it large.</summary>
    private void Recycle(HeldLine held)
    {
        held.Body.ResetWrittenCount();
        if (held.Body.Capacity <= MaxRecycledHeldBytes)
            _spareHeld = held;
    }

    private void Emit(DockerOutput output, LogTimestamp? timestamp, string? details, ReadOnlySpan<byte> body, bool terminated)
    {
        if (terminated && _tty && !body.IsEmpty && body[^1] == CarriageReturn)
            body = body[..^1];
        var text = Encoding.UTF8.GetString(body);
        if (output == DockerOutput.SystemError || timestamp is null && text.StartsWith(DaemonErrorPrefix, StringComparison.Ordinal))
        {
            _ready.Enqueue(new DockerLogLine(OutputStream.Stderr, LogTimestamp.FromDateTimeOffset(_time.GetUtcNow()), true, text, null) { IsDaemonError = true });
            return;
        }
        var stream = output == DockerOutput.Stderr ? OutputStream.Stderr : OutputStream.Stdout;
        var line = timestamp is { } stamped
            ? new DockerLogLine(stream, stamped, false, text, details)
            : new DockerLogLine(stream, LogTimestamp.FromDateTimeOffset(_time.GetUtcNow()), true, text, details);
        _ready.Enqueue(line);
    }

    private string InternDetails(ReadOnlySpan<byte> details)
    {
        // Details are URL-escaped ASCII: Latin-1 maps each byte to one char, so the lookup needs no string.
        Span<char> chars = stackalloc char[details.Length];
        Encoding.Latin1.GetChars(details, chars);
        var lookup = _detailsCache.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars, out var cached))
            return cached;
        if (_detailsCache.Count >= MaxCachedDetails)
            _detailsCache.Clear();
        var value = new string(chars);
        _detailsCache[value] = value;
        return value;
    }

    private static bool TryParseTimestamp(ReadOnlySpan<byte> bytes, out LogTimestamp timestamp)
    {
        timestamp = default;
        if (bytes.Length > MaxTimestampBytes || !Ascii.IsValid(bytes))
            return false;
        Span<char> chars = stackalloc char[bytes.Length];
        Ascii.ToUtf16(bytes, chars, out _);
        return LogTimestamp.TryParse(chars, out timestamp);
    }

    /// <summary>The joined parts of a line whose last partial message has not come yet.</summary>
    private sealed class HeldLine
    {
        public LogTimestamp? Timestamp { get; set; }
        public ArrayBufferWriter<byte> Body { get; } = new(PartialMessageBytes * 2);
    }
}
