using System.Globalization;
using System.Text;
using System.Text.Json;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// One line of <c>journalctl -o json</c>: <c>__REALTIME_TIMESTAMP</c> (microseconds) is the time, <c>PRIORITY</c> the
/// level, <c>MESSAGE</c> the text (a string, or an array of bytes when it is not valid UTF-8), and
/// <c>_SYSTEMD_UNIT</c>, <c>SYSLOG_IDENTIFIER</c>, <c>_PID</c> and <c>_HOSTNAME</c> go to metadata.
/// <para>
/// The journal stamps in microseconds and a line's identity is its time and text: two equal messages in one
/// microsecond (two units printing "Started.") would be one line read twice. The nanoseconds below the microsecond
/// carry the entry's sequence number (<c>i=</c> of its cursor) modulo 1000, the same on every read of the journal.
/// </para>
/// </summary>
internal static class JournalEntry
{
    public const string UnitKey = "systemd_unit";
    public const string IdentifierKey = SyslogLine.IdentifierKey;
    public const string PidKey = SyslogLine.PidKey;
    public const string HostnameKey = SyslogLine.HostnameKey;

    /// <summary>The fields read; <c>journalctl --output-fields</c> keeps the JSON to these (and its own <c>__</c> fields).</summary>
    public const string OutputFields = "MESSAGE,PRIORITY,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,_PID,_HOSTNAME";

    private const long NanosPerMicrosecond = 1_000;

    /// <summary>Metadata of an entry whose message was cut to <c>MaxLineBytes</c>.</summary>
    public const string TruncatedKey = "truncated";

    /// <summary>What follows the kept start of a message cut to <c>MaxLineBytes</c>, so a reader sees it was cut.</summary>
    public static string CutMark(int maxBytes) => $" … [cut at {maxBytes.ToString(CultureInfo.InvariantCulture)} bytes]";

    /// <summary>
    /// The longest JSON line assembled for an entry whose message is at most <paramref name="maxMessageBytes"/>: every
    /// byte may be escaped as <c>\u00XX</c> (or written as a number in an array, up to 4 bytes), plus the other fields.
    /// </summary>
    public static int JsonBytesFor(int maxMessageBytes) => (int)Math.Min(int.MaxValue / 2, maxMessageBytes * 6L + 64 * 1024);

    /// <summary>
    /// An entry whose JSON was longer even than <see cref="JsonBytesFor"/>: it cannot be parsed, so a marker takes its
    /// place, never silence: at the entry's time when the kept start of its JSON says it (journalctl writes the fields
    /// in no fixed order, so it may not), else at the entry before it (<paramref name="after"/>, so it stays between
    /// the entries it came between), else now.
    /// </summary>
    public static SourceRecord Oversized(string start, int jsonBytes, LogTimestamp? after, TimeProvider time)
    {
        var at = after ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow());
        var key = start.IndexOf("\"__REALTIME_TIMESTAMP\":\"", StringComparison.Ordinal);
        if (key >= 0)
        {
            var digits = start.AsSpan(key + "\"__REALTIME_TIMESTAMP\":\"".Length);
            var end = digits.IndexOf('"');
            if (end > 0 && long.TryParse(digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
                at = new LogTimestamp(micros * NanosPerMicrosecond);
        }
        return SourceRecord.IncompleteMarker(at, $"A journal entry longer than {jsonBytes.ToString(CultureInfo.InvariantCulture)} bytes of JSON was left out here.");
    }

    /// <summary>A line of journalctl's output that is not an entry: a marker in its place (at the entry before it, else now), with its start.</summary>
    public static SourceRecord Unreadable(string line, LogTimestamp? after, TimeProvider time)
    {
        const int Shown = 200;
        var start = line.Length > Shown ? line[..Shown] + "…" : line;
        return SourceRecord.IncompleteMarker(after ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
            $"A line of the journal's output could not be read as an entry and was left out here: {start}");
    }

    /// <summary>The message's first <paramref name="maxBytes"/> bytes (whole characters) and the cut mark.</summary>
    private static string Cut(string message, int maxBytes)
    {
        var chars = 0;
        var bytes = 0;
        while (chars < message.Length)
        {
            var width = char.IsSurrogatePair(message, chars) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(message.AsSpan(chars, width));
            if (bytes + size > maxBytes)
                break;
            bytes += size;
            chars += width;
        }
        return string.Concat(message.AsSpan(0, chars), CutMark(maxBytes));
    }

    /// <summary>
    /// The record of one JSON line; null for a line that is not an entry. With <paramref name="logfmt"/> the message
    /// is a dockerd line whose own time and level win (the journal gives every line of a service's stderr one priority).
    /// </summary>
    public static SourceRecord? Parse(string json, bool logfmt, int maxMessageBytes = int.MaxValue)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("__REALTIME_TIMESTAMP", out var realtime)
                || !long.TryParse(realtime.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
                return null;
            var nanos = micros * NanosPerMicrosecond + SequenceNumber(root) % NanosPerMicrosecond;
            var message = Text(root, "MESSAGE") ?? "";
            var level = int.TryParse(Text(root, "PRIORITY"), NumberStyles.None, CultureInfo.InvariantCulture, out var priority)
                ? LevelDetector.FromSyslogPriority(priority)
                : LevelDetector.Detect(message);
            var timestamp = new LogTimestamp(nanos);
            if (logfmt)
            {
                var parsed = LogfmtLine.ParseLine(message);
                if (parsed.Timestamp is { } own)
                {
                    timestamp = own;
                    message = parsed.Text;
                    if (parsed.Level != LogSeverity.Unknown)
                        level = parsed.Level;
                }
            }
            var metadata = new Dictionary<string, string>(4, StringComparer.Ordinal);
            if (Encoding.UTF8.GetByteCount(message) > maxMessageBytes)
            {
                message = Cut(message, maxMessageBytes);
                metadata[TruncatedKey] = "true";
            }
            Add(metadata, UnitKey, Text(root, "_SYSTEMD_UNIT"));
            Add(metadata, IdentifierKey, Text(root, "SYSLOG_IDENTIFIER"));
            Add(metadata, PidKey, Text(root, "_PID"));
            Add(metadata, HostnameKey, Text(root, "_HOSTNAME"));
            return new SourceRecord(timestamp, TimestampIsReceiveTime: false, OutputStream.System, message, level, metadata);
        }
    }

    private static void Add(Dictionary<string, string> metadata, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
            metadata[key] = value;
    }

    /// <summary>A field's text: journalctl writes a string, an array of bytes (not UTF-8), or an array of those (a field given twice).</summary>
    private static string? Text(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
            return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Array when value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.Number:
                var bytes = new byte[value.GetArrayLength()];
                var i = 0;
                foreach (var b in value.EnumerateArray())
                    bytes[i++] = b.TryGetByte(out var x) ? x : (byte)'?';
                return Encoding.UTF8.GetString(bytes);
            case JsonValueKind.Array when value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.String:
                return value[0].GetString();
            default:
                return null;
        }
    }

    /// <summary>The entry's sequence number: the hexadecimal <c>i=</c> of its cursor (journalctl 252 has no <c>__SEQNUM</c> field).</summary>
    private static long SequenceNumber(JsonElement root)
    {
        if (!root.TryGetProperty("__CURSOR", out var cursor) || cursor.GetString() is not { } text)
            return 0;
        foreach (var part in text.Split(';'))
        {
            if (part.StartsWith("i=", StringComparison.Ordinal)
                && long.TryParse(part.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var seqnum))
                return seqnum;
        }
        return 0;
    }
}
