using System.Text.RegularExpressions;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// One client's choice of lines on a shared stream: a <c>filter</c> pattern, an <c>exclude</c> pattern, a set of
/// levels, one output, and a time range. Applied per subscriber as it reads (never in the shared graph), so viewers
/// with different filters share one upstream and a pattern costs only the client that gave it. Immutable.
/// </summary>
public sealed class LineFilter
{
    private readonly Regex? _include;
    private readonly Regex? _exclude;
    private readonly int _levels;
    private readonly OutputStream? _stream;

    /// <param name="include">Lines must match it (<c>filter</c>); null for any line.</param>
    /// <param name="exclude">Lines matching it are dropped (<c>exclude</c>).</param>
    /// <param name="levels">Levels kept; null or empty for every level.</param>
    /// <param name="stream">The only output kept; null for both.</param>
    /// <param name="since">Oldest timestamp kept (inclusive).</param>
    /// <param name="until">Newest timestamp kept (inclusive).</param>
    /// <param name="maxMatches">Match spans reported per line (<see cref="QueryOptions.MaxMatchesPerLine"/>); one more is found to tell that there were more.</param>
    public LineFilter(Regex? include, Regex? exclude, IReadOnlyCollection<LogSeverity>? levels, OutputStream? stream, LogTimestamp? since, LogTimestamp? until,
        int maxMatches = 64)
    {
        MaxMatches = maxMatches;
        _include = include;
        _exclude = exclude;
        foreach (var level in levels ?? [])
            _levels |= 1 << (int)level;
        _stream = stream;
        Since = since;
        Until = until;
    }

    public LogTimestamp? Since { get; }

    /// <summary>
    /// Spans a frame carries per line. <see cref="Accepts"/> gives at most one more (and stops looking): a line with more
    /// spans than this is sent with the first ones and <c>matches_truncated</c>.
    /// </summary>
    public int MaxMatches { get; }

    public LogTimestamp? Until { get; }

    /// <summary>True when something beyond the time range is chosen: a filtered <c>tail</c> counts matching lines.</summary>
    public bool SelectsLines => _include is not null || _exclude is not null || _levels != 0 || _stream is not null;

    /// <summary>True when the time range is bounded.</summary>
    public bool HasRange => Since is not null || Until is not null;

    /// <summary>Whether a timestamp is in the range.</summary>
    public bool InRange(LogTimestamp timestamp) =>
        (Since is not { } since || timestamp >= since) && (Until is not { } until || timestamp <= until);

    /// <summary>
    /// Whether the line is chosen; <paramref name="matches"/> gets where <c>filter</c> matched (null without a
    /// filter). A marker that lines are missing is kept whatever the patterns say (it is about every line), when in range.
    /// </summary>
    public bool Accepts(SourceRecord record, out MatchSpan[]? matches)
    {
        matches = null;
        if (!InRange(record.Timestamp))
            return false;
        if (record.Incomplete is not null)
            return true;
        if (_levels != 0 && (_levels & (1 << (int)record.Level)) == 0)
            return false;
        if (_stream is { } stream && record.Stream != stream)
            return false;
        try
        {
            if (_exclude is not null && IsMatch(_exclude, record.Text))
                return false;
            if (_include is null)
                return true;
            matches = FindRetried(_include, record.Text, MaxMatches + 1);
            return matches is not null;
        }
        catch (RegexMatchTimeoutException)
        {
            // Only a fence (see QueryOptions.MatchTimeout): the line counts as not matching, and an excluded one as not excluded.
            return _include is null;
        }
    }

    /// <summary>
    /// A match that timed out is tried once more before the fence holds. The timeout is wall-clock time, so a match can
    /// pass it without being slow: the first match of a pattern compiles the engine's code (45-270 ms measured on a cold
    /// process, past the 100 ms default on a loaded machine), and a thread can be descheduled or paused by a collection.
    /// That dropped the first matching line of a filtered viewer. A pattern that is really too slow times out twice.
    /// </summary>
    private static bool IsMatch(Regex pattern, string text)
    {
        try
        {
            return pattern.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return pattern.IsMatch(text);
        }
    }

    /// <summary><see cref="Find"/>, tried once more after a timeout (see <see cref="IsMatch"/>).</summary>
    private static MatchSpan[]? FindRetried(Regex pattern, string text, int limit)
    {
        try
        {
            return Find(pattern, text, limit);
        }
        catch (RegexMatchTimeoutException)
        {
            return Find(pattern, text, limit);
        }
    }

    /// <summary>
    /// The first <paramref name="limit"/> non-empty matches, or null when there is none (an empty match, as of <c>x*</c>,
    /// still makes the line match). A pattern like <c>.</c> matches every character of a 16 KiB line: the limit bounds
    /// both the work and the frame.
    /// </summary>
    private static MatchSpan[]? Find(Regex pattern, string text, int limit)
    {
        List<MatchSpan>? spans = null;
        var matched = false;
        foreach (var match in pattern.EnumerateMatches(text))
        {
            matched = true;
            if (match.Length > 0)
            {
                (spans ??= []).Add(new MatchSpan(match.Index, match.Index + match.Length));
                if (spans.Count >= limit)
                    break;
            }
        }
        return matched ? spans?.ToArray() ?? [] : null;
    }
}
