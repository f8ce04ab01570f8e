using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Docker.Containers;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Runs a reader (<c>tail -F</c>, <c>journalctl</c>) in a small container on a host, through that host's Docker API,
/// with the log's folder bind-mounted read-only at the same path, and gives its output's lines. The container lives
/// exactly as long as the read: it is removed when the read ends (the last viewer left, the reader exited, a fault),
/// and it is labelled so one left behind by a crash is removed at the next start-up (<see cref="ReaderContainerCleanup"/>).
/// </summary>
internal static class ReaderContainer
{
    /// <summary>Every reader carries this label; its value is the service instance that started it.</summary>
    public const string OwnerLabel = "io.logsmigration.host-log-reader";
    public const string PurposeLabel = "io.logsmigration.reads";

    /// <summary>Which run of the instance started a reader: the start-up cleanup spares the readers of its own run.</summary>
    public const string RunLabel = "io.logsmigration.run";

    private const int ReadSize = 64 * 1024;
    private const int MaxErrorChars = 2_000;
    private static readonly TimeSpan RemoveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Which service instance owns a reader: a restarted instance removes its own leftovers, never another's.</summary>
    public static string Owner { get; } = Environment.MachineName;

    public static string Run { get; } = Guid.NewGuid().ToString("N");

    public static async IAsyncEnumerable<RawLine> ReadLinesAsync(DockerClient client, string hostId, string image, IReadOnlyList<string> command,
        IReadOnlyList<string> mountedPaths, string purpose, int maxLineBytes, Action? onStarted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = new CreateContainerParameters
        {
            Image = image,
            Cmd = [.. command],
            Tty = false,
            AttachStdout = true,
            AttachStderr = true,
            Labels = new Dictionary<string, string> { [OwnerLabel] = Owner, [RunLabel] = Run, [PurposeLabel] = purpose },
            HostConfig = new HostConfig
            {
                Binds = [.. mountedPaths.Distinct(StringComparer.Ordinal).Select(path => $"{path}:{path}:ro")],
                NetworkMode = "none",
            },
        };
        var created = await DockerErrors.GuardAsync(hostId, ex => CreateError(ex, image),
            () => client.Containers.CreateContainerAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
        try
        {
            await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
                () => client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken), cancellationToken).ConfigureAwait(false);
            var logs = await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
                () => client.Containers.GetContainerLogsAsync(created.ID, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = true }, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            using var body = ContainerLogResponse.Body(logs);
            onStarted?.Invoke();
            var frames = new DockerStreamDemultiplexer(body, multiplexed: true);
            var assembler = new LineAssembler(maxLineBytes);
            var lines = new List<RawLine>();
            var errors = new StringBuilder();
            var buffer = new byte[ReadSize];
            while (true)
            {
                DockerLogChunk chunk;
                try
                {
                    chunk = await frames.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && DockerErrors.TryTranslate(ex, hostId, DockerErrors.ContainerApiError, out var translated))
                {
                    throw translated;
                }
                if (chunk.IsEnd)
                    break;
                if (chunk.Output == DockerOutput.Stdout)
                {
                    assembler.Append(buffer.AsSpan(0, chunk.Count), lines);
                    foreach (var line in lines)
                        yield return line;
                    lines.Clear();
                }
                else if (errors.Length < MaxErrorChars)
                {
                    errors.Append(Encoding.UTF8.GetString(buffer, 0, chunk.Count));
                }
            }
            if (assembler.Flush() is { } last)
                yield return last;
            var exit = await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
                () => client.Containers.WaitContainerAsync(created.ID, cancellationToken), cancellationToken).ConfigureAwait(false);
            if (exit.StatusCode != 0)
                throw new LogSourceException(LogSourceErrorKind.Failed, $"The log reader container on host '{hostId}' ({string.Join(' ', command)}) exited with {exit.StatusCode}: {errors.ToString().Trim()}");
        }
        finally
        {
            await RemoveAsync(client, created.ID).ConfigureAwait(false);
        }
    }

    /// <summary>Removes a reader whatever state it is in; the read is over, so this does not take the read's token.</summary>
    public static async Task RemoveAsync(DockerClient client, string id)
    {
        using var timeout = new CancellationTokenSource(RemoveTimeout);
        try
        {
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, timeout.Token).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
        {
            // The host went away: the start-up cleanup of the next run removes it.
        }
    }

    private static LogSourceException CreateError(DockerApiException ex, string image) =>
        ex.StatusCode == HttpStatusCode.NotFound
            ? new LogSourceException(LogSourceErrorKind.NotAvailable,
                $"The log reader image '{image}' is not on the host ({DockerErrors.DaemonMessage(ex)}); pull it there or set Docker:HostLogs:ReaderImage (or the location's ReaderImage).", ex)
            : new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex);
}
