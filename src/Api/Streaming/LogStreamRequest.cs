using System.Globalization;
using System.Text.RegularExpressions;
using LogsMigration.Api.Query;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Primitives;

namespace LogsMigration.Api.Streaming;

/// <summary>One client's request, parsed from the route and query string of the contract.</summary>
/// <param name="SourceType">Which route was called.</param>
/// <param name="Resource">The id or name from the path, as typed (resolved later by the source).</param>
/// <param name="HostId">The <c>host_id</c> parameter, or null for the default host.</param>
/// <param name="Tail">Lines of history.</param>
/// <param name="Follow">Keep streaming after the history.</param>
/// <param name="Timestamps">Prefix each line's text with its RFC 3339 timestamp.</param>
/// <param name="Resume">The <c>resume</c> parameter (<c>epoch:sequence</c>): start after the last line the client saw.</param>
/// <param name="Batched">The <c>format=batch</c> parameter: several lines per frame, for new clients only.</param>
/// <param name="Cursor">The <c>resume</c> parameter given as a cursor (the <c>cursor</c> field of a log frame).</param>
/// <param name="Filter">The query parameters (<c>filter</c>, <c>exclude</c>, <c>levels</c>, <c>stream</c>, <c>since</c>, <c>until</c>); null when none was given.</param>
/// <param name="Progress">The <c>progress</c> parameter: send <c>scan_progress</c> frames while history is searched.</param>
public sealed record LogStreamRequest(
    LogSourceType SourceType,
    string Resource,
    string? HostId,
    int Tail,
    bool Follow,
    bool Timestamps,
    ResumePoint? Resume,
    bool Batched = false,
    ResumeCursor? Cursor = null,
    LineFilter? Filter = null,
    bool Progress = false)
{
    private const int MaxResourceLength = 255;

    // Docker's own rule for container, service and stack names and ids: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
    private static readonly Regex ResourcePattern = new("^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);
    private static readonly Regex HostPattern = new("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant);
    private static readonly Regex ResumePattern = new("^([0-9a-f]{1,32}):([0-9]{1,18})$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Parses and validates. Unknown extra parameters are ignored, as the contract asks. On failure returns null and
    /// a <paramref name="error"/> naming the parameter and what is wrong with it.
    /// </summary>
    public static LogStreamRequest? TryParse(LogSourceType sourceType, string? resource, IQueryCollection query, StreamingOptions options, out RequestError? error,
        QueryOptions? queryOptions = null, DateTimeOffset? now = null)
    {
        error = null;
        if (string.IsNullOrEmpty(resource) || resource.Length > MaxResourceLength || !ResourcePattern.IsMatch(resource))
        {
            error = new RequestError("path", $"The {sourceType.ToWire()} id must be 1 to {MaxResourceLength} characters of letters, digits, '_', '.' or '-', starting with a letter or digit.");
            return null;
        }

        string? hostId = null;
        if (query.TryGetValue("host_id", out var hostValue) && !StringValues.IsNullOrEmpty(hostValue))
        {
            hostId = hostValue.ToString();
            if (!HostPattern.IsMatch(hostId))
            {
                error = new RequestError("host_id", "host_id must be 1 to 64 characters of letters, digits, '_', '.' or '-'.");
                return null;
            }
        }
        else if (sourceType == LogSourceType.Service)
        {
            error = new RequestError("host_id", "host_id is required for service logs: it must name a Swarm manager.");
            return null;
        }

        var tail = options.DefaultTail;
        if (query.TryGetValue("tail", out var tailValue) && !StringValues.IsNullOrEmpty(tailValue))
        {
            if (!int.TryParse(tailValue.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out tail) || tail > options.MaxTail)
            {
                error = new RequestError("tail", $"tail must be a whole number from 0 to {options.MaxTail}.");
                return null;
            }
        }

        if (!TryParseBool(query, "follow", true, out var follow, out error))
            return null;
        // The contract's defaults: timestamps on for containers (as the old container view), off for the rest.
        if (!TryParseBool(query, "timestamps", sourceType == LogSourceType.Container, out var timestamps, out error))
            return null;

        ResumePoint? resume = null;
        ResumeCursor? cursor = null;
        if (query.TryGetValue("resume", out var resumeValue) && !StringValues.IsNullOrEmpty(resumeValue))
        {
            var text = resumeValue.ToString();
            var match = ResumePattern.Match(text);
            if (match.Success)
            {
                resume = new ResumePoint(match.Groups[1].Value, long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
            }
            else if (!ResumeCursor.TryDecode(text, out cursor, out var cursorError))
            {
                error = new RequestError("resume", $"{cursorError} (resume takes the cursor field of a log frame, or '<epoch>:<seq>'.)");
                return null;
            }
        }

        var batched = false;
        if (query.TryGetValue("format", out var formatValue) && !StringValues.IsNullOrEmpty(formatValue))
        {
            switch (formatValue.ToString().ToLowerInvariant())
            {
                case "line":
                    break;
                case "batch":
                    batched = true;
                    break;
                default:
                    error = new RequestError("format", "format must be line (one line per frame, the default) or batch.");
                    return null;
            }
        }

        if (!QueryParameters.TryParse(query, queryOptions ?? new QueryOptions(), now ?? DateTimeOffset.UtcNow, out var filter, out var progress, out error))
            return null;
        // A range that ends is history only: live lines are never in it.
        if (filter?.Until is not null)
            follow = false;

        return new LogStreamRequest(sourceType, resource, hostId, tail, follow, timestamps, resume, batched, cursor, filter, progress);
    }

    private static bool TryParseBool(IQueryCollection query, string name, bool fallback, out bool value, out RequestError? error)
    {
        error = null;
        value = fallback;
        if (!query.TryGetValue(name, out var raw) || StringValues.IsNullOrEmpty(raw))
            return true;
        switch (raw.ToString().ToLowerInvariant())
        {
            case "true" or "1":
                value = true;
                return true;
            case "false" or "0":
                value = false;
                return true;
            default:
                error = new RequestError(name, $"{name} must be true or false.");
                return false;
        }
    }
}

/// <summary>Which parameter was wrong, and how.</summary>
public sealed record RequestError(string Parameter, string Message);
