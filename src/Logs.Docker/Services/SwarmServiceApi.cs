using System.Globalization;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Sources;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Services;

/// <summary>The Swarm service calls of the Docker API the service and stack readers make, with Docker's failures translated.</summary>
internal static class SwarmServiceApi
{
    private const string AllLines = "all";

    /// <summary>The service with this (well-formed) id or name.</summary>
    public static Task<SwarmService> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        DockerErrors.GuardAsync(hostId, ex => ApiError(ex, idOrName), () => client.Swarm.InspectServiceAsync(idOrName, cancellationToken), cancellationToken);

    public static Task<SwarmService?> TryInspectAsync(DockerClient client, string hostId, string id, CancellationToken cancellationToken) =>
        MissingResource.OrNullAsync(() => InspectAsync(client, hostId, id, cancellationToken));

    /// <summary>
    /// Opens the logs response with <c>details=1</c>, so each line names its task; null when the service does not exist
    /// (any more). The raw stream, not the library's MultiplexedStream: that one rejects Docker's system-error frames and
    /// loses the daemon's message, and hides frame ends, which keep interleaved replicas' partial lines apart.
    /// </summary>
    public static Task<Stream?> OpenLogsAsync(DockerClient client, StreamKey key, string id, SourceStart start, CancellationToken cancellationToken)
    {
        var parameters = new ServiceLogsParameters
        {
            ShowStdout = key.Streams.HasFlag(StreamSelection.Stdout) ? true : null,
            ShowStderr = key.Streams.HasFlag(StreamSelection.Stderr) ? true : null,
            // Docker counts a service's tail per task.
            Tail = start.Tail?.ToString(CultureInfo.InvariantCulture) ?? AllLines,
            Since = start.Since?.ToUnixSecondsString(),
            Follow = start.Follow,
            Timestamps = true,
            Details = true,
        };
        return MissingResource.OrNullAsync(() => DockerErrors.GuardAsync(key.HostId, ex => ApiError(ex, id),
            () => client.Swarm.GetServiceLogsAsync(id, parameters, cancellationToken), cancellationToken));
    }

    /// <summary>
    /// A manager whose control plane is recovering is unavailable for now (<see cref="SwarmManagerErrors"/>); a node
    /// that is not a manager (a worker, or outside any swarm) answers 503 with its own explanation, which is what the
    /// user needs to read; an unknown service answers 404 ("service x not found").
    /// </summary>
    public static LogSourceException ApiError(DockerApiException ex, string idOrName) => ex switch
    {
        _ when SwarmManagerErrors.IsRecovering(DockerErrors.DaemonMessage(ex)) =>
            new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host is a swarm manager that cannot serve yet: {DockerErrors.DaemonMessage(ex)}", ex),
        DockerSwarmNodeNotParticipatingException or { StatusCode: HttpStatusCode.ServiceUnavailable } =>
            new LogSourceException(LogSourceErrorKind.NotSupported, DockerErrors.DaemonMessage(ex), ex),
        { StatusCode: HttpStatusCode.NotFound } => new LogSourceException(LogSourceErrorKind.NotFound, $"No such service: {idOrName}", ex),
        _ => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
    };
}
