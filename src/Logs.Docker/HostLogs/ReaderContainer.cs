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

    /// <summary>
    /// Once the reader has exited (or is gone), how long a read of its output may wait for more bytes before the output
    /// is taken as ended: dockerd may keep the follow stream of a killed or removed container open.
    /// </summary>
    private static readonly TimeSpan ExitedOutputDrain = TimeSpan.FromSeconds(5);

    public static string Run { get; } = Guid.NewGuid().ToString("N");

    /// <summary>
    /// Starts the trailer the reader prints on stdout and on stderr once its command ended; then the reader's own nonce
    /// (so a log line that holds these bytes cannot end the read) and its exit status.
    /// </summary>
    private const string EndPrefix = "\u0001logsmigration-end ";

    /// <summary>
    /// Runs the reader's command, then says it ended (with its status) on both outputs, then waits to be removed. With
    /// the <c>none</c> log driver the attach stream is the reader's only output, and a viewer slower than the reader
    /// holds dockerd's copy of it back: a reader that simply exited had dockerd close its streams two seconds after the
    /// exit, and what was still unsent was lost. So the end is the trailer, not the exit; an output that ends without
    /// it was cut (the reader killed or removed). On stdout the trailer starts with a newline, so it is a line of its
    /// own whether or not the command's last line had one (and not lost in a last line cut at the line limit); the one
    /// empty line that makes when the output did end with a newline is dropped. The wait is bounded (an hour), so a reader whose removal failed does
    /// not stay for ever; a consumer that takes longer than that to drain gets the cut output's error, not a silent end.
    /// </summary>
    private const string Wrapper =
        "n=$1; shift; \"$@\"; s=$?; printf '\\n\\001logsmigration-end %s %s\\n' \"$n\" \"$s\"; printf '\\001logsmigration-end %s %s\\n' \"$n\" \"$s\" >&2; exec sleep 3600";

    /// <param name="owner">The instance the reader belongs to (<see cref="HostLogOptions.EffectiveReaderOwner"/>).</param>
    /// <param name="follow">
    /// The reader follows a log that does not end: its end (it was killed, removed, or failed) is a transient fault the
    /// stream shows and reopens after, not the end of the log.
    /// </param>
    public static async IAsyncEnumerable<RawLine> ReadLinesAsync(DockerClient client, string hostId, string owner, string image, IReadOnlyList<string> command,
        IReadOnlyList<string> mountedPaths, string purpose, int maxLineBytes, bool follow, Action? onStarted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var end = $"{EndPrefix}{nonce} ";
        var parameters = new CreateContainerParameters
        {
            Image = image,
            Cmd = ["sh", "-c", Wrapper, "sh", nonce, .. command],
            Tty = false,
            AttachStdout = true,
            AttachStderr = true,
            Labels = new Dictionary<string, string> { [OwnerLabel] = owner, [RunLabel] = Run, [PurposeLabel] = purpose },
            HostConfig = new HostConfig
            {
                Binds = [.. mountedPaths.Distinct(StringComparer.Ordinal).Select(path => $"{path}:{path}:ro")],
                NetworkMode = "none",
                // Its output is read through the attach stream: no copy of every line read into the host's data root.
                LogConfig = new LogConfig { Type = "none" },
            },
        };
        var created = await DockerErrors.GuardAsync(hostId, ex => CreateError(ex, image),
            () => client.Containers.CreateContainerAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
        using var output = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            // Attached before it starts (as `docker run` does), so the stream holds its output from the first byte. Not
            // its logs followed: dockerd 20.10's follow of a json-file log sometimes stopped giving lines the reader
            // had written (seen here under load: a reader's log held every line, its follow gave none after the
            // first 20). The attach stream is the reader's stdout itself, and a viewer slower than the reader holds
            // the reader back instead of piling its output up anywhere.
            var attached = await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
                () => client.Containers.AttachContainerAsync(created.ID, new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true }, cancellationToken),
                cancellationToken).ConfigureAwait(false);
            using var body = ContainerLogResponse.Body(attached);
            await DockerErrors.GuardAsync(hostId, DockerErrors.ContainerApiError,
                () => client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken), cancellationToken).ConfigureAwait(false);
            var exited = WaitAsync(client, created.ID, cancellationToken);
            onStarted?.Invoke();
            var frames = new DockerStreamDemultiplexer(body, multiplexed: true);
            var assembler = new LineAssembler(maxLineBytes);
            var lines = new List<RawLine>();
            var errors = new StringBuilder();
            var errorsTail = "";
            string? endStatus = null;
            RawLine? heldEmpty = null;
            var stderrEnded = false;
            var buffer = new byte[ReadSize];
            while (endStatus is null || !stderrEnded)
            {
                DockerLogChunk chunk;
                try
                {
                    // After either trailer the other is due at once: a stdout trailer lost in a line cut at MaxLineBytes
                    // must not leave the read waiting on a reader that now only sleeps.
                    chunk = await ReadAfterExitBoundedAsync(frames, buffer, exited, ended: endStatus is not null || stderrEnded, output).ConfigureAwait(false);
                }
                catch (Exception) when (output.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The reader is gone (or said its end on stdout only) and its output gave nothing more for a while.
                    break;
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && DockerErrors.TryTranslate(ex, hostId, DockerErrors.ContainerApiError, out var translated))
                {
                    throw translated;
                }
                if (chunk.IsEnd)
                    break;
                if (chunk.Output == DockerOutput.Stdout)
                {
                    if (endStatus is not null)
                        continue;
                    assembler.Append(buffer.AsSpan(0, chunk.Count), lines);
                    foreach (var line in lines)
                    {
                        if (line.Text.StartsWith(end, StringComparison.Ordinal))
                        {
                            // The trailer: an empty line just before it is the trailer's own leading newline.
                            endStatus = line.Text[end.Length..].Trim();
                            heldEmpty = null;
                            break;
                        }
                        if (heldEmpty is { } empty)
                        {
                            heldEmpty = null;
                            yield return empty;
                        }
                        if (line.Text.Length == 0 && !line.Cut)
                        {
                            heldEmpty = line;
                            continue;
                        }
                        yield return line;
                    }
                    lines.Clear();
                }
                else
                {
                    var text = Encoding.UTF8.GetString(buffer, 0, chunk.Count);
                    // The trailer may come split over two frames: looked for in what came last, whatever the cap.
                    errorsTail = string.Concat(errorsTail, text);
                    if (errorsTail.Contains(end, StringComparison.Ordinal))
                        stderrEnded = true;
                    errorsTail = errorsTail.Length > end.Length * 2 ? errorsTail[^(end.Length * 2)..] : errorsTail;
                    if (errors.Length < MaxErrorChars)
                        errors.Append(text);
                }
            }
            var stderr = errors.ToString();
            var trailer = stderr.IndexOf(end, StringComparison.Ordinal);
            stderr = (trailer >= 0 ? stderr[..trailer] : stderr).Trim();
            var what = $"The log reader container on host '{hostId}' ({command[0]}, reading {string.Join(", ", mountedPaths)})";
            if (endStatus is null)
            {
                if (heldEmpty is { } empty)
                    yield return empty;
                // Cut: the last line may be half a line, and what followed it is not known.
                var status = exited.IsCompleted ? await exited.ConfigureAwait(false) : null;
                var how = status is { } code ? $"exited with {code}" : "was removed or stopped answering";
                if (follow)
                    throw new LogSourceException(LogSourceErrorKind.Unavailable, $"{what} {how} while following{(stderr.Length > 0 ? $": {stderr}" : "")}; it is started again");
                throw new LogSourceException(LogSourceErrorKind.Failed, $"{what} {how} before the end of its output; lines after the last one given may be missing{(stderr.Length > 0 ? $": {stderr}" : "")}.");
            }
            if (follow)
                throw new LogSourceException(LogSourceErrorKind.Unavailable, $"{what} exited with {endStatus} while following{(stderr.Length > 0 ? $": {stderr}" : "")}; it is started again");
            if (endStatus != "0")
                throw new LogSourceException(LogSourceErrorKind.Failed, $"{what} exited with {endStatus}: {stderr}");
        }
        finally
        {
            await RemoveAsync(client, created.ID).ConfigureAwait(false);
        }
    }

    /// <summary>The reader's exit code once it stopped; null when it was removed or the wait failed (the host went away).</summary>
    private static async Task<long?> WaitAsync(DockerClient client, string id, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.Containers.WaitContainerAsync(id, cancellationToken).ConfigureAwait(false)).StatusCode;
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or TimeoutException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>
    /// The next chunk of the reader's output. Once the reader has exited, or said its end on stdout (<paramref name="ended"/>:
    /// its stderr's trailer is due at once), a read that gets nothing for <see cref="ExitedOutputDrain"/> is cancelled
    /// through <paramref name="output"/>; the timer runs only while a read
    /// waits, never while the consumer holds the loop (a slow viewer must not cut a long history).
    /// </summary>
    private static async Task<DockerLogChunk> ReadAfterExitBoundedAsync(DockerStreamDemultiplexer frames, byte[] buffer, Task<long?> exited, bool ended,
        CancellationTokenSource output)
    {
        if (ended || exited.IsCompleted)
            output.CancelAfter(ExitedOutputDrain);
        var read = frames.ReadAsync(buffer, output.Token).AsTask();
        try
        {
            if (!exited.IsCompleted && await Task.WhenAny(read, exited).ConfigureAwait(false) != read)
                output.CancelAfter(ExitedOutputDrain);
            return await read.ConfigureAwait(false);
        }
        finally
        {
            if (!output.IsCancellationRequested)
                output.CancelAfter(Timeout.InfiniteTimeSpan);
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
