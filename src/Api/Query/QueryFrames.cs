using System.Buffers;
using System.Globalization;
using System.Text;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Query;

/// <summary>The frames of the query side: a matching line with its <c>matches</c>, and <c>scan_progress</c>.</summary>
public static class QueryFrames
{
    /// <summary>
    /// The line's shared frame with <c>"matches":[[start,end],…]</c> added: offsets into <c>message</c> (so after the
    /// timestamp prefix when there is one), end exclusive. Only this client's copy is made; the shared bytes stay as they are.
    /// At most <paramref name="limit"/> spans (<c>Query:MaxMatchesPerLine</c>); with more, the first ones and
    /// <c>"matches_truncated":true</c>.
    /// </summary>
    public static byte[] WithMatches(LogEntry entry, LogFrameFormat format, MatchSpan[] matches, int limit)
    {
        var frame = entry.GetFrame(format);
        if (matches.Length == 0)
            return frame;
        var shift = format == LogFrameFormat.JsonTimestamped ? entry.Timestamp.ToRfc3339().Length + 1 : 0;
        var tail = new StringBuilder(",\"matches\":[");
        var count = Math.Min(matches.Length, limit);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
                tail.Append(',');
            tail.Append(CultureInfo.InvariantCulture, $"[{matches[i].Start + shift},{matches[i].End + shift}]");
        }
        tail.Append(matches.Length > limit ? "],\"matches_truncated\":true}" : "]}");
        // The frame is one JSON object: its closing brace is its last byte.
        var extra = Encoding.UTF8.GetBytes(tail.ToString());
        var result = new byte[frame.Length - 1 + extra.Length];
        frame.AsSpan(0, frame.Length - 1).CopyTo(result);
        extra.CopyTo(result.AsSpan(frame.Length - 1));
        return result;
    }

    /// <summary><c>{"type":"scan_progress","scanned_back_to":…,"found":N,"state":"scanning|done|capped"}</c>.</summary>
    public static byte[] ScanProgress(ScanProgress progress, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("scan_progress", null, now, w =>
        {
            w.WriteString("scanned_back_to"u8, progress.ScannedBackTo.ToRfc3339());
            w.WriteNumber("found"u8, progress.Found);
            w.WriteString("state"u8, progress.StateName);
        });
}
