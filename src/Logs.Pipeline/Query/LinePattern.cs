using System.Text.RegularExpressions;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// A regular expression typed by a user (<c>filter</c>, <c>exclude</c>). It runs with
/// <see cref="RegexOptions.NonBacktracking"/>: matching is linear in the line's length whatever the pattern, so
/// <c>(a+)+$</c> against a long line costs what <c>a</c> does; the features that need backtracking (backreferences,
/// lookarounds, atomic groups) are refused. "Smart case": case-insensitive unless the pattern has a capital letter.
/// </summary>
public static class LinePattern
{
    /// <returns>The compiled pattern, or null with <paramref name="error"/> saying why it was refused.</returns>
    public static Regex? TryCreate(string pattern, QueryOptions options, out string? error)
    {
        error = null;
        if (pattern.Length > options.MaxPatternLength)
        {
            error = $"is longer than {options.MaxPatternLength} characters.";
            return null;
        }
        var regexOptions = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
        if (!HasCapital(pattern))
            regexOptions |= RegexOptions.IgnoreCase;
        try
        {
            var regex = new Regex(pattern, regexOptions, options.MatchTimeout);
            WarmUp(regex);
            return regex;
        }
        catch (ArgumentException ex)
        {
            error = $"is not a valid regular expression: {ex.Message}";
        }
        catch (NotSupportedException ex)
        {
            // NonBacktracking refuses backreferences, lookarounds, atomic groups and patterns that unfold too large.
            error = $"uses a feature that needs backtracking, which is not allowed: {ex.Message}";
        }
        return null;
    }

    /// <summary>
    /// Runs the pattern once on a sample, so the one-off cost of its first match (the engine's code compiled, 45-270 ms
    /// on a cold process) is paid while the client connects, not on the first line it should see.
    /// </summary>
    private static void WarmUp(Regex regex)
    {
        try
        {
            foreach (var _ in regex.EnumerateMatches("Warm-up line 0123 ERROR warn info: {\"k\":\"v\"}"))
            {
            }
            regex.IsMatch("warm-up");
        }
        catch (RegexMatchTimeoutException)
        {
            // The timeout is what the warm-up is for: the code is compiled either way.
        }
    }

    /// <summary>A capital letter written as such; the letter of an escape (<c>\W</c>, <c>\S</c>, <c>\D</c>) is not one.</summary>
    private static bool HasCapital(string pattern)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                i++;
                continue;
            }
            if (char.IsUpper(pattern[i]))
                return true;
        }
        return false;
    }
}
