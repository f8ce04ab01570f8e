using Docker.DotNet;

namespace LogsMigration.Docker.Reading;

/// <summary>
/// Container logs as the client library gives them. A read never crosses a frame, but the library does not say
/// where a frame ends, so message boundaries come from newlines and Docker's 16 KiB partial size.
/// </summary>
internal sealed class MultiplexedStreamChunkSource(MultiplexedStream stream) : IDockerLogChunkSource
{
    public async ValueTask<DockerLogChunk> ReadAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var result = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
        var output = result.Target == MultiplexedStream.TargetStream.StandardError ? DockerOutput.Stderr : DockerOutput.Stdout;
        return new DockerLogChunk(output, result.Count, EndsMessage: false);
    }
}
