using System.Globalization;

namespace LogsMigration.Pipeline.Model;

/// <summary>
/// A point in time with the nanosecond precision Docker gives (DateTimeOffset keeps only 100 ns ticks),
/// so a resume with Docker's inclusive <c>since</c> can tell lines written in the same microsecond apart.
/// </summary>
public readonly record struct LogTimestamp(long UnixNanoseconds) : IComparable<LogTimestamp>
{
    private const long NanosPerTick = 100;
    private const long NanosPerSecond = 1_000_000_000;

    public static LogTimestamp FromDateTimeOffset(DateTimeOffset value) =>
        new((value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * NanosPerTick);

    public DateTimeOffset ToDateTimeOffset() =>
        new(DateTimeOffset.UnixEpoch.UtcTicks + UnixNanoseconds / NanosPerTick, TimeSpan.Zero);

    public int CompareTo(LogTimestamp other) => UnixNanoseconds.CompareTo(other.UnixNanoseconds);

    public static bool operator <(LogTimestamp a, LogTimestamp b) => a.UnixNanoseconds < b.UnixNanoseconds;
    public static bool operator >(LogTimestamp a, LogTimestamp b) => a.UnixNanoseconds > b.UnixNanoseconds;
    public static bool operator <=(LogTimestamp a, LogTimestamp b) => a.UnixNanoseconds <= b.UnixNanoseconds;
    public static bool operator >=(LogTimestamp a, LogTimestamp b) => a.UnixNanoseconds >= b.UnixNanoseconds;

    /// <summary>Docker's <c>since</c>/<c>until</c> form: seconds and nanoseconds since the epoch.</summary>
    public string ToUnixSecondsString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.DivRem(UnixNanoseconds, NanosPerSecond, out var ns)}.{ns:D9}");

    /// <summary>RFC 3339 in UTC with nine fractional digits, as Docker writes it with <c>timestamps=1</c>.</summary>
    public string ToRfc3339()
    {
        var seconds = Math.DivRem(UnixNanoseconds, NanosPerSecond, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += NanosPerSecond;
        }
        var whole = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return string.Create(CultureInfo.InvariantCulture, $"{whole:yyyy-MM-ddTHH:mm:ss}.{nanos:D9}Z");
    }

    /// <summary>
    /// Parses an RFC 3339 timestamp with up to nine fractional digits (Docker's <c>RFC3339Nano</c>)
    /// and any offset. Returns false for anything else.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out LogTimestamp value)
    {
        value = default;
        // yyyy-MM-ddTHH:mm:ss is 19 characters; the rest is an optional fraction and the zone.
        if (text.Length < 20 || text[4] != '-' || text[10] != 'T' && text[10] != 't' && text[10] != ' ')
            return false;
        if (!DateTime.TryParseExact(text[..19], "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var whole)
            && !DateTime.TryParseExact(text[..19], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out whole))
            return false;

        var rest = text[19..];
        long nanos = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            var digits = 0;
            var i = 1;
            for (; i < rest.Length && char.IsAsciiDigit(rest[i]); i++)
            {
                if (digits < 9)
                {
                    nanos = nanos * 10 + (rest[i] - '0');
                    digits++;
                }
            }
            if (i == 1)
                return false;
            for (; digits < 9; digits++)
                nanos *= 10;
            rest = rest[i..];
        }

        TimeSpan offset;
        if (rest is "Z" or "z")
            offset = TimeSpan.Zero;
        else if (rest.Length == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':'
                 && int.TryParse(rest[1..3], NumberStyles.None, CultureInfo.InvariantCulture, out var hh)
                 && int.TryParse(rest[4..6], NumberStyles.None, CultureInfo.InvariantCulture, out var mm))
            offset = new TimeSpan(hh, mm, 0) * (rest[0] == '-' ? -1 : 1);
        else
            return false;

        var unixSeconds = (long)(whole - DateTime.UnixEpoch).TotalSeconds - (long)offset.TotalSeconds;
        value = new LogTimestamp(unixSeconds * NanosPerSecond + nanos);
        return true;
    }

    public override string ToString() => ToRfc3339();
}
