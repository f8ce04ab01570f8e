using System.Globalization;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// A syslog file's line: rsyslog's high-precision form (<c>2026-12-01T22:00:00.123456+00:00 host ident[pid]: text</c>)
/// or the traditional one (<c>Dec  1 22:00:00 host ident[pid]: text</c>, local time, no year: the latest year that
/// does not put the line in the future). The host, identifier and pid go to metadata and the level is guessed from
/// the text (syslog files do not keep the priority).
/// <para>
/// Line identity is timestamp + text, and these timestamps stop at the second (or the microsecond): two equal lines
/// in one second would be taken for one line read twice. So the digits below the format's precision carry the line's
/// offset in its file: they stay inside the second the line was written in, keep lines of one file in order, and are
/// the same on every read of the file, renamed or copied by rotation (both keep offsets).
/// </para>
/// </summary>
internal sealed class SyslogLine(TimeProvider time) : ILogLineFormat
{
    public const string HostnameKey = "hostname";
    public const string IdentifierKey = "syslog_identifier";
    public const string PidKey = "pid";

    private const long NanosPerSecond = 1_000_000_000;
    private const long NanosPerMicrosecond = 1_000;
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public ParsedLine Parse(string line, long? offset)
    {
        var span = line.AsSpan();
        LogTimestamp timestamp;
        long unit;
        var space = span.IndexOf(' ');
        if (space > 0 && LogTimestamp.TryParse(span[..space], out timestamp))
        {
            unit = timestamp.UnixNanoseconds % NanosPerMicrosecond == 0 ? NanosPerMicrosecond : 1;
            span = span[(space + 1)..];
        }
        else if (TryParseTraditional(span, out timestamp))
        {
            unit = NanosPerSecond;
            span = span[15..].TrimStart(' ');
        }
        else
        {
            return new ParsedLine(null, LevelDetector.Detect(line), line);
        }
        if (offset is { } at && unit > 1)
            timestamp = new LogTimestamp(timestamp.UnixNanoseconds + at % unit);

        var metadata = new Dictionary<string, string>(3, StringComparer.Ordinal);
        var hostEnd = span.IndexOf(' ');
        if (hostEnd > 0)
        {
            metadata[HostnameKey] = span[..hostEnd].ToString();
            span = span[(hostEnd + 1)..];
        }
        var tagEnd = span.IndexOf(": ");
        var tag = tagEnd > 0 ? span[..tagEnd] : default;
        if (tagEnd > 0 && tag.IndexOf(' ') < 0)
        {
            var bracket = tag.IndexOf('[');
            if (bracket > 0 && tag[^1] == ']')
            {
                metadata[IdentifierKey] = tag[..bracket].ToString();
                metadata[PidKey] = tag[(bracket + 1)..^1].ToString();
            }
            else
            {
                metadata[IdentifierKey] = tag.ToString();
            }
            span = span[(tagEnd + 2)..];
        }
        var text = span.ToString();
        return new ParsedLine(timestamp, LevelDetector.Detect(text), text, metadata);
    }

    /// <summary><c>Mmm dd HH:mm:ss</c> (the day padded with a space), in local time.</summary>
    private bool TryParseTraditional(ReadOnlySpan<char> span, out LogTimestamp timestamp)
    {
        timestamp = default;
        if (span.Length < 16 || span[3] != ' ' || span[15] != ' ')
            return false;
        var month = Array.IndexOf(Months, span[..3].ToString()) + 1;
        if (month == 0
            || !int.TryParse(span[4..6].Trim(' '), NumberStyles.None, CultureInfo.InvariantCulture, out var day)
            || !TimeOnly.TryParseExact(span[7..15], "HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var clock))
            return false;
        var now = time.GetLocalNow();
        var year = now.Year;
        // A December line read in January belongs to last year.
        if (month > now.Month + 1)
            year--;
        if (day < 1 || day > DateTime.DaysInMonth(year, month))
            return false;
        var local = new DateTime(year, month, day, clock.Hour, clock.Minute, clock.Second, DateTimeKind.Unspecified);
        var offset = time.LocalTimeZone.GetUtcOffset(local);
        timestamp = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(local, offset));
        return true;
    }
}
