using System.Globalization;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Query;

/// <summary><c>since</c>/<c>until</c> values: RFC 3339 (nanoseconds kept), or a duration back from now (<c>30s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>).</summary>
public static class TimeBound
{
    /// <summary>The largest relative value accepted (far more than any log holds; keeps the arithmetic in range).</summary>
    private const long MaxRelative = 100_000;

    public static bool TryParse(string text, DateTimeOffset now, out LogTimestamp value)
    {
        if (LogTimestamp.TryParse(text, out value))
            return true;
        if (text.Length < 2)
            return false;
        var unit = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            _ => TimeSpan.Zero,
        };
        if (unit == TimeSpan.Zero
            || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count > MaxRelative)
            return false;
        value = LogTimestamp.FromDateTimeOffset(now - unit * count);
        return true;
    }
}
