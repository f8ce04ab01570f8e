using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker;

/// <summary>
/// Turns what the Docker client library throws into the <see cref="LogSourceException"/> kinds the pipeline acts
/// on: a daemon that is down or went away is <see cref="LogSourceErrorKind.Unavailable"/> (retried), an answer
/// from the daemon keeps the daemon's own message. A read broken by the caller's own cancellation stays a
/// cancellation: disposing a stream under a pending read surfaces as an <see cref="IOException"/>, never a fault.
/// </summary>
internal static class DockerErrors
{
    private const string MessageProperty = "message";

    /// <summary>Container calls: 404 is the daemon's "No such container: x", anything else a failure with its message.</summary>
    public static LogSourceException ContainerApiError(DockerApiException ex) =>
        ex.StatusCode == System.Net.HttpStatusCode.NotFound
            ? new LogSourceException(LogSourceErrorKind.NotFound, DaemonMessage(ex), ex)
            : new LogSourceException(LogSourceErrorKind.Failed, DaemonMessage(ex), ex);

    /// <summary>
    /// Awaits one request/response call, translating its failures. Streams are read with explicit handling
    /// (see <see cref="TryTranslate"/>) because this wrapper allocates a closure per call.
    /// </summary>
    public static async Task<T> GuardAsync<T>(string hostId, Func<DockerApiException, LogSourceException> apiError, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The Docker call was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && TryTranslate(ex, hostId, apiError, out var translated))
        {
            throw translated;
        }
    }

    /// <summary>
    /// The <see cref="LogSourceException"/> for a failure of a Docker call, or false for exceptions that are not
    /// about Docker (programming errors keep their own type and stack).
    /// </summary>
    public static bool TryTranslate(Exception ex, string hostId, Func<DockerApiException, LogSourceException> apiError, out LogSourceException translated)
    {
        translated = ex switch
        {
            DockerApiException api => apiError(api),
            // Not the caller's token (the caller checks that first): the library's request timeout.
            OperationCanceledException => new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host '{hostId}' did not answer in time.", ex),
            InvalidDataException => new LogSourceException(LogSourceErrorKind.Failed, $"Docker host '{hostId}' sent a log stream this service cannot decode: {ex.Message}", ex),
            _ when IsTransport(ex) => Unavailable(hostId, ex),
            _ => null!,
        };
        return translated is not null;
    }

    /// <summary>True for the ways a daemon that is down, or that went away mid-stream, shows up through the library.</summary>
    public static bool IsTransport(Exception ex) => ex switch
    {
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        // The legacy TCP transport wraps a refused connection in an AggregateException.
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransport),
        _ => false,
    };

    public static LogSourceException Unavailable(string hostId, Exception ex) =>
        new(LogSourceErrorKind.Unavailable, $"Docker host '{hostId}' is not answering: {TransportReason(ex)}", ex);

    /// <summary>The daemon's own words: the <c>message</c> of its JSON error body, else the body, else the status.</summary>
    public static string DaemonMessage(DockerApiException ex)
    {
        var body = ex.ResponseBody;
        if (string.IsNullOrWhiteSpace(body))
            return $"The Docker daemon answered {(int)ex.StatusCode} ({ex.StatusCode}).";
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(MessageProperty, out var message)
                && message.ValueKind == JsonValueKind.String)
                return message.GetString()!;
        }
        catch (JsonException)
        {
        }
        return body.Trim();
    }

    /// <summary>The most specific reason in the chain: "Connection refused" says more than "Connection failed.".</summary>
    private static string TransportReason(Exception ex)
    {
        for (var current = ex; current is not null; current = current is AggregateException { InnerExceptions.Count: > 0 } aggregate ? aggregate.InnerExceptions[0] : current.InnerException)
        {
            if (current is SocketException socket)
                return socket.Message;
        }
        return ex.Message;
    }
}
