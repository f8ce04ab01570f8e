using System.Text;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// dockerd's (and containerd's) logrus lines: <c>time="2026-12-01T22:00:00.123456789Z" level=info msg="…" key=value</c>.
/// The line's own time and level are used, never the time it was read; the text is the message followed by the other
/// fields as written. A line that does not start with <c>time=</c> (a panic's stack, a plain line) keeps its text, its
/// level is guessed, and its time is its predecessor's.
/// </summary>
internal sealed class LogfmtLine : ILogLineFormat
{
    public static LogfmtLine Instance { get; } = new();

    public ParsedLine Parse(string line, long? offset) => ParseLine(line);

    public static ParsedLine ParseLine(string line)
    {
        if (!line.StartsWith("time=", StringComparison.Ordinal))
            return new ParsedLine(null, LevelDetector.Detect(line), line);
        LogTimestamp? time = null;
        var level = LogSeverity.Unknown;
        string? message = null;
        var rest = new StringBuilder();
        var span = line.AsSpan();
        while (TryNextField(ref span, out var key, out var value, out var raw))
        {
            switch (key)
            {
                case "time" when time is null && LogTimestamp.TryParse(value, out var parsed):
                    time = parsed;
                    break;
                case "level" when level == LogSeverity.Unknown:
                    level = LevelDetector.FromWord(value);
                    break;
                case "msg" when message is null:
                    message = value;
                    break;
                default:
                    if (rest.Length > 0)
                        rest.Append(' ');
                    rest.Append(raw);
                    break;
            }
        }
        if (time is null)
            return new ParsedLine(null, LevelDetector.Detect(line), line);
        var text = message is null ? rest.ToString() : rest.Length == 0 ? message : $"{message} {rest}";
        return new ParsedLine(time, level, text);
    }

    /// <summary>Reads one <c>key=value</c> or <c>key="quoted \" value"</c>; a bare word without '=' is a field with no value.</summary>
    internal static bool TryNextField(ref ReadOnlySpan<char> span, out string key, out string value, out string raw)
    {
        span = span.TrimStart(' ');
        key = value = raw = "";
        if (span.IsEmpty)
            return false;
        var start = span;
        var i = 0;
        while (i < span.Length && span[i] != '=' && span[i] != ' ')
            i++;
        key = span[..i].ToString();
        if (i == span.Length || span[i] == ' ')
        {
            raw = key;
            span = span[i..];
            return true;
        }
        i++;
        if (i < span.Length && span[i] == '"')
        {
            var builder = new StringBuilder();
            i++;
            for (; i < span.Length && span[i] != '"'; i++)
            {
                if (span[i] == '\\' && i + 1 < span.Length)
                {
                    i++;
                    builder.Append(span[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var c => c });
                }
                else
                {
                    builder.Append(span[i]);
                }
            }
            value = builder.ToString();
            i = Math.Min(span.Length, i + 1);
        }
        else
        {
            var valueStart = i;
            while (i < span.Length && span[i] != ' ')
                i++;
            value = span[valueStart..i].ToString();
        }
        raw = start[..i].ToString();
        span = span[i..];
        return true;
    }
}
