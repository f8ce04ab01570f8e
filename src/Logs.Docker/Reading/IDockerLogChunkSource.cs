namespace LogsMigration.Docker.Reading;

/// <summary>
/// The bytes of one log stream, read by output. Two implementations: the client library's
/// <c>MultiplexedStream</c> (container logs, where the library hides frame ends), and
/// <see cref="DockerStreamDemultiplexer"/> over a raw response stream (service logs), which sees frame ends and
/// Docker's system-error frames.
/// </summary>
internal interface IDockerLogChunkSource
{
    /// <summary>Reads into <paramref name="buffer"/>; a result with <see cref="DockerLogChunk.Count"/> 0 is the end.</summary>
    ValueTask<DockerLogChunk> ReadAsync(byte[] buffer, CancellationToken cancellationToken);
}
