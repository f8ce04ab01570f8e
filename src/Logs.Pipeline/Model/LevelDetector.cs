using System.Buffers;

namespace LogsMigration.Pipeline.Model;

/// <summary>
/// Guesses a line's severity from the forms logs commonly use: <c>level=warn</c>, JSON <c>"level":"error"</c>,
/// bracketed or bare upper-case words (<c>[ERROR]</c>, <c>WARN</c>, <c>FATAL</c>), and syslog/journald priorities.
/// Only the first 256 characters are looked at, so a 40 KiB line costs no more than a short one.
/// </summary>
public static class LevelDetector
{
    private const int Window = 256;

    private static readonly SearchValues<string> LevelKeys =
        SearchValues.Create(["level=", "level\":", "level\": ", "lvl=", "severity=", "severity\":"], StringComparison.OrdinalIgnoreCase);

    public static LogSeverity Detect(string text)
    {
        var span = text.AsSpan(0, Math.Min(text.Length, Window));
        var keyAt = span.IndexOfAny(LevelKeys);
        if (keyAt >= 0)
        {
            var rest = span[keyAt..];
            rest = rest[(rest.IndexOfAny('=', ':') + 1)..].TrimStart(" \"'");
            var word = rest[..WordLength(rest)];
            var level = FromWord(word);
            if (level != LogSeverity.Unknown)
                return level;
        }
        // Bare words: the most severe one found wins, matched on word boundaries, upper case only, so the word
        // "error" inside a sentence does not make every line an error.
        if (ContainsWord(span, "FATAL") || ContainsWord(span, "CRITICAL") || ContainsWord(span, "PANIC") || ContainsWord(span, "EMERG") || ContainsWord(span, "ALERT") || ContainsWord(span, "CRIT"))
            return LogSeverity.Critical;
        if (ContainsWord(span, "ERROR") || ContainsWord(span, "ERR") || ContainsWord(span, "Error:") || ContainsWord(span, "Exception"))
            return LogSeverity.Error;
        if (ContainsWord(span, "WARN") || ContainsWord(span, "WARNING"))
            return LogSeverity.Warning;
        if (ContainsWord(span, "INFO") || ContainsWord(span, "NOTICE"))
            return LogSeverity.Info;
        if (ContainsWord(span, "DEBUG") || ContainsWord(span, "TRACE"))
            return LogSeverity.Debug;
        return LogSeverity.Unknown;
    }

    /// <summary>Maps a syslog/journald priority (0 emerg … 7 debug).</summary>
    public static LogSeverity FromSyslogPriority(int priority) => priority switch
    {
        <= 2 => LogSeverity.Critical,
        3 => LogSeverity.Error,
        4 => LogSeverity.Warning,
        5 or 6 => LogSeverity.Info,
        7 => LogSeverity.Debug,
        _ => LogSeverity.Unknown,
    };

    public static LogSeverity FromWord(ReadOnlySpan<char> word)
    {
        Span<char> lower = stackalloc char[Math.Min(word.Length, 16)];
        word[..lower.Length].ToLowerInvariant(lower);
        return lower switch
        {
            "trace" or "debug" or "dbg" => LogSeverity.Debug,
            "info" or "information" or "notice" => LogSeverity.Info,
            "warn" or "warning" => LogSeverity.Warning,
            "error" or "err" or "eror" => LogSeverity.Error,
            "fatal" or "crit" or "critical" or "panic" or "emerg" or "alert" => LogSeverity.Critical,
            _ => LogSeverity.Unknown,
        };
    }

    private static int WordLength(ReadOnlySpan<char> span)
    {
        var i = 0;
        while (i < span.Length && char.IsAsciiLetter(span[i]))
            i++;
        return i;
    }

    private static bool ContainsWord(ReadOnlySpan<char> span, string word)
    {
        var start = 0;
        while (start < span.Length)
        {
            var at = span[start..].IndexOf(word, StringComparison.Ordinal);
            if (at < 0)
                return false;
            at += start;
            var end = at + word.Length;
            var before = at == 0 || !char.IsAsciiLetterOrDigit(span[at - 1]);
            var after = end >= span.Length || !char.IsAsciiLetter(span[end]) || word.EndsWith(':');
            if (before && after)
                return true;
            start = end;
        }
        return false;
    }
}
