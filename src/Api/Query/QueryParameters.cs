using System.Text.RegularExpressions;
using LogsMigration.Api.Streaming;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;
using Microsoft.Extensions.Primitives;

namespace LogsMigration.Api.Query;

/// <summary>
/// The query parameters shared by the log routes and the download (<c>filter</c>, <c>exclude</c>, <c>levels</c>,
/// <c>stream</c>, <c>since</c>, <c>until</c>, <c>progress</c>), parsed and checked before anything is asked of Docker.
/// </summary>
public static class QueryParameters
{
    private static readonly Dictionary<string, LogSeverity> Levels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["debug"] = LogSeverity.Debug,
        ["info"] = LogSeverity.Info,
        ["warning"] = LogSeverity.Warning,
        ["error"] = LogSeverity.Error,
        ["critical"] = LogSeverity.Critical,
        ["unknown"] = LogSeverity.Unknown,
    };

    /// <summary>
    /// Parses the parameters. <paramref name="filter"/> is null when none of them was given (the stream as the old
    /// frontend knows it). On failure returns false and an <paramref name="error"/> naming the parameter.
    /// </summary>
    public static bool TryParse(IQueryCollection query, QueryOptions options, DateTimeOffset now, out LineFilter? filter, out bool progress, out RequestError? error)
    {
        filter = null;
        progress = false;
        if (!TryPattern(query, "filter", options, out var include, out error) || !TryPattern(query, "exclude", options, out var exclude, out error))
            return false;

        List<LogSeverity>? levels = null;
        if (Value(query, "levels") is { } levelText)
        {
            levels = [];
            foreach (var name in levelText.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!Levels.TryGetValue(name, out var level))
                {
                    error = new RequestError("levels", "levels must be a comma-separated list of debug, info, warning, error, critical and unknown.");
                    return false;
                }
                levels.Add(level);
            }
        }

        OutputStream? stream = null;
        if (Value(query, "stream") is { } streamText)
        {
            stream = streamText.ToLowerInvariant() switch
            {
                "stdout" => OutputStream.Stdout,
                "stderr" => OutputStream.Stderr,
                _ => null,
            };
            if (stream is null)
            {
                error = new RequestError("stream", "stream must be stdout or stderr.");
                return false;
            }
        }

        if (!TryTime(query, "since", now, out var since, out error) || !TryTime(query, "until", now, out var until, out error))
            return false;
        if (since is { } from && until is { } to && from > to)
        {
            error = new RequestError("until", "until must not be before since.");
            return false;
        }

        if (Value(query, "progress") is { } progressText)
        {
            switch (progressText.ToLowerInvariant())
            {
                case "true" or "1":
                    progress = true;
                    break;
                case "false" or "0":
                    break;
                default:
                    error = new RequestError("progress", "progress must be true or false.");
                    return false;
            }
        }

        if (include is not null || exclude is not null || levels is not null || stream is not null || since is not null || until is not null)
            filter = new LineFilter(include, exclude, levels, stream, since, until, options.MaxMatchesPerLine);
        return true;
    }

    private static bool TryPattern(IQueryCollection query, string name, QueryOptions options, out Regex? pattern, out RequestError? error)
    {
        error = null;
        pattern = null;
        if (Value(query, name) is not { } text)
            return true;
        pattern = LinePattern.TryCreate(text, options, out var reason);
        if (pattern is null)
            error = new RequestError(name, $"{name} {reason}");
        return pattern is not null;
    }

    private static bool TryTime(IQueryCollection query, string name, DateTimeOffset now, out LogTimestamp? value, out RequestError? error)
    {
        error = null;
        value = null;
        if (Value(query, name) is not { } text)
            return true;
        if (TimeBound.TryParse(text, now, out var parsed))
        {
            value = parsed;
            return true;
        }
        error = new RequestError(name, $"{name} must be an RFC 3339 time (2024-05-01T14:02:00Z) or a duration back from now (30s, 15m, 2h, 1d).");
        return false;
    }

    private static string? Value(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && !StringValues.IsNullOrEmpty(value) ? value.ToString() : null;
}
