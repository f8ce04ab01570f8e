using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Sources;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Containers;

/// <summary>The container calls of the Docker API the container readers make, with Docker's failures translated.</summary>
internal static class ContainerApi
{
    private const string AllLines = "all";

    /// <summary>The container with this (well-formed) id or name; NotFound in the daemon's words when there is none.</summary>
    public static Task<ContainerInspectResponse> InspectAsync(DockerClient client, string hostId, string idOrName, CancellationToken cancellationToken) =>
        DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError, () => client.Containers.InspectContainerAsync(idOrName, cancellationToken), cancellationToken);

    public static Task<ContainerInspectResponse?> TryInspectAsync(DockerClient client, string hostId, string id, CancellationToken cancellationToken) =>
        MissingResource.OrNullAsync(() => InspectAsync(client, hostId, id, cancellationToken));

    /// <summary>Opens the logs response (its raw body); null when the container does not exist (any more).</summary>
    public static Task<Stream?> OpenLogsAsync(DockerClient client, StreamKey key, string id, SourceStart start, CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = key.Streams.HasFlag(StreamSelection.Stdout) ? true : null,
            ShowStderr = key.Streams.HasFlag(StreamSelection.Stderr) ? true : null,
            Tail = start.Tail?.ToString(CultureInfo.InvariantCulture) ?? AllLines,
            Since = start.Since?.ToUnixSecondsString(),
            Until = start.Until?.ToUnixSecondsString(),
            Follow = start.Follow,
            // Always: lines are ordered, resumed and de-duplicated by Docker's nanosecond timestamps.
            Timestamps = true,
        };
        return MissingResource.OrNullAsync(async () =>
        {
            var response = await DockerErrors.GuardAsync(key.HostId, DockerErrors.ContainerApiError,
                () => client.Containers.GetContainerLogsAsync(id, parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ContainerLogResponse.Body(response);
        });
    }
}
