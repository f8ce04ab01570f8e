namespace LogsMigration.Docker.Reading;

/// <summary>
/// The bytes of one log stream, read by output: <see cref="DockerStreamDemultiplexer"/> over a raw response stream
/// (container and service logs), which sees frame ends and Docker's system-error frames; tests add their own.
/// </summary>
internal interface IDockerLogChunkSource
{
    /// <summary>Reads into <paramref name="buffer"/>; a result with <see cref="DockerLogChunk.Count"/> 0 is the end.</summary>
    ValueTask<DockerLogChunk> ReadAsync(byte[] buffer, CancellationToken cancellationToken);
}
