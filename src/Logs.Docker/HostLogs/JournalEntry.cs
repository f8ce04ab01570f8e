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

    /// <summary>
    /// The record of one JSON line; null for a line that is not an entry. With <paramref name="logfmt"/> the message
    /// is a dockerd line whose own time and level win (the journal gives every line of a service's stderr one priority).
    /// </summary>
    public static SourceRecord? Parse(string json, bool logfmt)
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
