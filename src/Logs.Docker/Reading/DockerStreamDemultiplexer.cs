using System.Buffers.Binary;

namespace LogsMigration.Docker.Reading;

/// <summary>
/// Splits a raw log response into outputs. Multiplexed streams are frames of an 8-byte header
/// <c>[stream, 0, 0, 0, size as big-endian uint32]</c> and a payload; TTY streams are raw bytes. Unlike the client
/// library's <c>MultiplexedStream</c>, it accepts stream 3 (Docker's system-error channel, which the library
/// rejects as unknown and so loses the daemon's message) and reports where each frame ends, which keeps the
/// interleaved frames of several service replicas apart.
/// </summary>
internal sealed class DockerStreamDemultiplexer(Stream stream, bool multiplexed) : IDockerLogChunkSource
{
    private const int HeaderSize = 8;
    private const int SizeOffset = 4;

    private readonly byte[] _header = new byte[HeaderSize];
    private DockerOutput _output;
    private int _remaining;

    public async ValueTask<DockerLogChunk> ReadAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        if (!multiplexed)
        {
            var raw = await stream.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            return new DockerLogChunk(DockerOutput.Stdout, raw, EndsMessage: false);
        }
        // A frame may be empty: read headers until one announces bytes.
        while (_remaining == 0)
        {
            if (!await ReadHeaderAsync(cancellationToken).ConfigureAwait(false))
                return default;
        }
        var count = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, _remaining)), cancellationToken).ConfigureAwait(false);
        if (count == 0)
            throw new EndOfStreamException("The Docker log stream ended in the middle of a frame.");
        _remaining -= count;
        return new DockerLogChunk(_output, count, EndsMessage: _remaining == 0);
    }

    private async ValueTask<bool> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < HeaderSize)
        {
            var count = await stream.ReadAsync(_header.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                if (read == 0)
                    return false;
                throw new EndOfStreamException("The Docker log stream ended in the middle of a frame header.");
            }
            read += count;
        }
        if (_header[0] > (byte)DockerOutput.SystemError)
            throw new InvalidDataException($"Unknown stream type {_header[0]} in a multiplexed log frame.");
        var size = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(SizeOffset));
        if (size > int.MaxValue)
            throw new InvalidDataException($"A multiplexed log frame announces {size} bytes.");
        _output = (DockerOutput)_header[0];
        _remaining = (int)size;
        return true;
    }
}
