namespace LogsMigration.Docker.Reading;

/// <summary>
/// What one read of a log stream gave: <see cref="Count"/> bytes of one output (0 at the end of the stream).
/// <see cref="EndsMessage"/> is true when the reader knows a Docker log message ends with these bytes (the end of
/// a multiplexed frame); false when it cannot tell.
/// </summary>
internal readonly record struct DockerLogChunk(DockerOutput Output, int Count, bool EndsMessage)
{
    public bool IsEnd => Count == 0;
}
