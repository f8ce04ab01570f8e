using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Wire;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace LogsMigration.Api.Query;

/// <summary>
/// <c>GET /api/v1/logs/{kind}/{id}/download</c>: the lines of one resource in a time range, through the same filter as
/// the log routes, as a file (<c>text</c> like <c>docker logs -t</c>, or <c>ndjson</c> of log frames). One read of the
/// source for the request, written as it comes (never held whole), gzip when the client accepts it, and cut at
/// <see cref="QueryOptions.DownloadMaxLines"/> / <see cref="QueryOptions.DownloadMaxBytes"/> with a last line that says so.
/// </summary>
public static partial class DownloadApi
{
    private const int FlushBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapDownloadApi(this IEndpointRouteBuilder app)
    {
        // The viewer policy: tokens are checked by the authentication handler, with the other HTTP endpoints' codes. The
        // token may come in the query, as on the WebSocket routes, so a download can be a plain link.
        app.MapGet("/api/v1/logs/{kind}/{id}/download", DownloadAsync).WithName("logs-download").RequireAuthorization(AuthPolicies.Viewer).AllowQueryToken();
        return app;
    }

    private static async Task DownloadAsync(HttpContext context, string kind, string id, LogSourceRegistry sources, DockerHosts hosts,
        IOptions<QueryOptions> queryOptions, DownloadLimiter limiter, TimeProvider time)
    {
        var request = context.Request;

        var options = queryOptions.Value;
        var now = time.GetUtcNow();
        if (ParseKind(kind) is not { } sourceType)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, "kind must be container, service, stack, host or daemon.", "kind");
            return;
        }
        if (!ResourcePattern().IsMatch(id))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter,
                "The id must be 1 to 255 characters of letters, digits, '_', '.' or '-', starting with a letter or digit.", "path");
            return;
        }
        var hostId = Value(request, "host_id") ?? (sourceType is LogSourceType.Host or LogSourceType.Daemon ? id : null);
        if (hostId is not null && !HostPattern().IsMatch(hostId))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, "host_id must be 1 to 64 characters of letters, digits, '_', '.' or '-'.", "host_id");
            return;
        }
        if (hostId is null && sourceType == LogSourceType.Service)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, "host_id is required for service logs: it must name a Swarm manager.", "host_id");
            return;
        }
        var ndjson = false;
        switch (Value(request, "format")?.ToLowerInvariant())
        {
            case null or "text":
                break;
            case "ndjson":
                ndjson = true;
                break;
            default:
                await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, "format must be text or ndjson.", "format");
                return;
        }
        if (!QueryParameters.TryParse(request.Query, options, now, out var parsed, out _, out var invalid))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidParameter, invalid!.Message, invalid.Parameter);
            return;
        }
        hostId ??= hosts.DefaultHostId;
        if (!hosts.Contains(hostId))
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, ErrorCodes.UnknownHost, $"Unknown Docker host '{hostId}'.", "host_id");
            return;
        }

        // Without until the download ends now: a file, not a follow.
        var until = parsed?.Until ?? LogTimestamp.FromDateTimeOffset(now);
        var filter = parsed ?? new LineFilter(null, null, null, null, null, until);
        var cancellationToken = context.RequestAborted;
        StreamKey key;
        ILogSource source;
        try
        {
            source = sources.Get(sourceType);
            key = new StreamKey(hostId, sourceType, await source.ResolveAsync(hostId, id, cancellationToken));
        }
        catch (LogSourceException ex)
        {
            var refusal = Refusal.For(ex);
            await ErrorAsync(context, StatusFor(ex.Kind), refusal.Code!, refusal.Message);
            return;
        }

        using var slot = limiter.TryEnter(context.User.UserId() ?? "", out var busy);
        if (slot is null)
        {
            await ErrorAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyDownloads, busy!);
            return;
        }

        // The status is chosen once the first line is ready, or at Query:DownloadFirstByteTimeout if none is by then (a
        // quiet range, a filter that matches nothing yet): a read that fails before it (Docker down, the resource gone)
        // is answered with its own status and the JSON error body; after it, an error is the file's last line.
        await using var lines = source.ReadAsync(key, SourceStart.Range(filter.Since, until), cancellationToken).GetAsyncEnumerator(cancellationToken);
        SourceRecord? first = null;
        MatchSpan[]? firstMatches = null;
        // A step of the read still under way when the deadline passed: the body goes on from it.
        Task<bool>? pending = null;
        var ended = false;
        var started = time.GetTimestamp();
        try
        {
            while (true)
            {
                var move = lines.MoveNextAsync();
                bool more;
                if (move.IsCompleted)
                    more = move.Result;
                else
                {
                    var step = move.AsTask();
                    var left = options.DownloadFirstByteTimeout - time.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero || !await CompletesWithinAsync(step, left, time, cancellationToken))
                    {
                        pending = step;
                        break;
                    }
                    more = await step;
                }
                if (!more)
                {
                    ended = true;
                    break;
                }
                if (filter.Accepts(lines.Current, out firstMatches))
                {
                    first = lines.Current;
                    break;
                }
            }
        }
        catch (LogSourceException ex)
        {
            var refusal = Refusal.For(ex);
            await ErrorAsync(context, StatusFor(ex.Kind), refusal.Code!, refusal.Message);
            return;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        var response = context.Response;
        response.ContentType = ndjson ? "application/x-ndjson; charset=utf-8" : "text/plain; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{FileName(sourceType, id, filter.Since, until, ndjson)}\"";
        response.Headers.CacheControl = "no-store";
        response.Headers.Vary = "Accept-Encoding";
        var gzip = AcceptsGzip(request);
        if (gzip)
            response.Headers.ContentEncoding = "gzip";
        await using var compressed = gzip ? new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true) : null;
        var body = compressed ?? response.Body;
        var writer = new DownloadWriter(body, ndjson, sourceType, filter.MaxMatches);
        try
        {
            if (first is not null)
                writer.WriteLine(new LogEntry(key, 0, "", first), firstMatches);
            else
            {
                // Committed to 200 without a line yet: the client sees the download begin.
                await response.StartAsync(cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
            if (!ended)
            {
                while (await NextAsync())
                {
                    var record = lines.Current;
                    if (!filter.Accepts(record, out var matches))
                        continue;
                    if (writer.Lines >= options.DownloadMaxLines || writer.Bytes >= options.DownloadMaxBytes)
                    {
                        writer.WriteCut(writer.Lines >= options.DownloadMaxLines ? "max_lines" : "max_bytes", record.Timestamp);
                        break;
                    }
                    writer.WriteLine(new LogEntry(key, 0, "", record), matches);
                    if (writer.Pending >= FlushBytes)
                        await writer.FlushAsync(cancellationToken);
                }
            }
        }
        catch (LogSourceException ex)
        {
            // The response has begun: the status cannot change, so its last line says what went wrong.
            writer.WriteError(Refusal.For(ex).Code!, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        await writer.FlushAsync(cancellationToken);

        ValueTask<bool> NextAsync()
        {
            if (pending is not { } step)
                return lines.MoveNextAsync();
            pending = null;
            return new ValueTask<bool>(step);
        }
    }

    /// <summary>True when <paramref name="step"/> ends (its fault is seen when it is awaited) within <paramref name="limit"/>.</summary>
    private static async Task<bool> CompletesWithinAsync(Task<bool> step, TimeSpan limit, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(limit, time, timer.Token);
        var done = await Task.WhenAny(step, delay).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return done == step;
    }

    private static int StatusFor(LogSourceErrorKind kind) => kind switch
    {
        LogSourceErrorKind.NotFound => StatusCodes.Status404NotFound,
        LogSourceErrorKind.NotSupported => StatusCodes.Status422UnprocessableEntity,
        LogSourceErrorKind.NotImplemented => StatusCodes.Status501NotImplemented,
        LogSourceErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status502BadGateway,
    };

    /// <summary>e.g. <c>container-web-1_20240501T140000Z_20240501T150000Z.log</c>: the resource and the range.</summary>
    internal static string FileName(LogSourceType type, string id, LogTimestamp? since, LogTimestamp until, bool ndjson) =>
        $"{type.ToWire()}-{id.TrimStart('/')}_{(since is { } s ? Compact(s) : "start")}_{Compact(until)}.{(ndjson ? "ndjson" : "log")}";

    private static string Compact(LogTimestamp at) => at.ToDateTimeOffset().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    private static bool AcceptsGzip(HttpRequest request)
    {
        foreach (var value in request.Headers.AcceptEncoding)
        {
            foreach (var part in (value ?? "").Split(','))
            {
                var pieces = part.Split(';', StringSplitOptions.TrimEntries);
                if (!pieces[0].Equals("gzip", StringComparison.OrdinalIgnoreCase))
                    continue;
                // "gzip;q=0" means: not gzip.
                return !pieces.Skip(1).Any(p => p.Replace(" ", "") is "q=0" or "q=0.0" or "q=0.00" or "q=0.000");
            }
        }
        return false;
    }

    private static LogSourceType? ParseKind(string kind) => kind switch
    {
        "container" => LogSourceType.Container,
        "service" => LogSourceType.Service,
        "stack" => LogSourceType.Stack,
        "host" => LogSourceType.Host,
        "daemon" => LogSourceType.Daemon,
        _ => null,
    };

    /// <summary>The error body of the HTTP endpoints: <c>{"error":{"code","message","parameter"?}}</c>.</summary>
    private static Task ErrorAsync(HttpContext context, int status, string code, string message, string? parameter = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new ErrorBody(code, message, parameter) });
    }

    private sealed record ErrorBody(string Code, string Message, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Parameter);

    private static string? Value(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var value) && !StringValues.IsNullOrEmpty(value) ? value.ToString() : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourcePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();

    /// <summary>Writes lines into a small buffer that goes to the body every <see cref="FlushBytes"/>; counts what it wrote (before compression).</summary>
    private sealed class DownloadWriter(Stream body, bool ndjson, LogSourceType type, int maxMatches)
    {
        private readonly MemoryStream _pending = new();

        public long Lines { get; private set; }

        public long Bytes { get; private set; }

        public long Pending => _pending.Length;

        public void WriteLine(LogEntry entry, MatchSpan[]? matches)
        {
            Lines++;
            if (ndjson)
            {
                Write(matches is null ? entry.GetFrame(LogFrameFormat.Json) : QueryFrames.WithMatches(entry, LogFrameFormat.Json, matches, maxMatches));
                Write("\n"u8);
                return;
            }
            var record = entry.Record;
            var text = new StringBuilder(record.Timestamp.ToRfc3339()).Append(' ');
            if (entry.IsIncompleteMarker)
                text.Append("# [logs] Lines may be missing here: ");
            // Several partitions (a service's tasks) in one file: each line says whose it is, as docker service logs does.
            else if (type != LogSourceType.Container && record.Metadata?.GetValueOrDefault("task_name") is { Length: > 0 } task)
                text.Append(task).Append(' ');
            text.Append(record.Text).Append('\n');
            Write(Encoding.UTF8.GetBytes(text.ToString()));
        }

        /// <summary>The last line of a cut download: why, how much was sent, and where the next download should start.</summary>
        public void WriteCut(string reason, LogTimestamp next)
        {
            if (ndjson)
            {
                Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $$"""{"type":"truncated","reason":"{{reason}}","lines":{{Lines}},"bytes":{{Bytes}},"next_since":"{{next.ToRfc3339()}}"}""")));
                Write("\n"u8);
                return;
            }
            Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"# [logs] truncated ({reason}): {Lines} lines, {Bytes} bytes sent; the next line is stamped {next.ToRfc3339()}, download again with since={next.ToRfc3339()}\n")));
        }

        public void WriteError(string code, string message)
        {
            var json = System.Text.Json.JsonSerializer.Serialize(new { type = "error", code, message });
            Write(Encoding.UTF8.GetBytes(ndjson ? json + "\n" : $"# [logs] error ({code}): {message}\n"));
        }

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_pending.Length == 0)
                return;
            await body.WriteAsync(_pending.GetBuffer().AsMemory(0, (int)_pending.Length), cancellationToken);
            await body.FlushAsync(cancellationToken);
            _pending.SetLength(0);
        }

        private void Write(ReadOnlySpan<byte> bytes)
        {
            _pending.Write(bytes);
            Bytes += bytes.Length;
        }
    }
}
