using System.Buffers.Binary;
using System.Text;
using LogsMigration.Docker.Reading;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Tests.Integration.Reading;

/// <summary>
/// The reader against byte streams built by hand in Docker's exact wire format (as seen on dockerd 20.10), delivered
/// a few bytes per read, so frame, partial-message and UTF-8 boundaries fall everywhere. No engine needed.
/// </summary>
public sealed class DockerLogReaderTests
{
    private const string Ts1 = "2026-11-27T02:01:34.474920774Z";
    private const string Ts2 = "2026-11-27T02:01:34.474983090Z";
    private const string TaskA = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=taskA";
    private const string TaskB = "com.docker.swarm.node.id=n2,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=taskB";
    private const int Partial = DockerLogReader.PartialMessageBytes;

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100_000)]
    public async Task ReadAsync_LineSplitIntoPartialFramesWithRepeatedTimestamps_IsOneRecord(int bytesPerRead)
    {
        var line = new string('a', 40_000);
        var frames = PartialFrames(1, $"{Ts1} ", line + "\n").Append(Frame(1, $"{Ts2} after\n"));

        var lines = await ReadAsync(Demultiplexed(frames, bytesPerRead), tty: false, details: false);

        Assert.Equal([line, "after"], lines.Select(l => l.Text));
        Assert.Equal(Ts1, lines[0].Timestamp.ToRfc3339());
        Assert.False(lines[0].TimestampIsReceiveTime);
    }

    [Fact]
    public async Task ReadAsync_MultiByteCharactersAcrossReadsAndPartials_DecodeWhole()
    {
        // 'x' then 'é' (2 bytes) so that the 16 KiB partial boundary falls inside a character.
        var line = "x" + string.Concat(Enumerable.Repeat("é€😀", 3000));
        var lines = await ReadAsync(Demultiplexed(PartialFrames(1, $"{Ts1} ", line + "\n"), bytesPerRead: 3), tty: false, details: false);

        Assert.Equal(line, Assert.Single(lines).Text);
    }

    [Fact]
    public async Task ReadAsync_JsonFilePartialsLongerThan16KiB_JoinedWhereTheTimestampRepeats()
    {
        // json-file stores a partial as a JSON string: a UTF-8 character cut at the 16 KiB boundary becomes U+FFFD
        // (3 bytes), so the partial message is 16 386 bytes, not 16 384. Seen on dockerd 20.10.
        var first = "x" + string.Concat(Enumerable.Repeat("é", 8191)) + "\uFFFD";
        var second = "\uFFFD" + string.Concat(Enumerable.Repeat("é", 1808));
        var raw = Concat([Bytes($"{Ts1} {first}"), Bytes($"{Ts1} {second}\n"), Bytes($"{Ts2} after\n")]);
        // Raw bytes, as the client library's MultiplexedStream hands container logs over: message ends are not visible.
        var lines = await ReadAsync(new TrickleStream(raw, 9), multiplexed: false, tty: false, details: false);

        Assert.Equal([first + second, "after"], lines.Select(l => l.Text));
    }

    [Fact]
    public async Task ReadAsync_TtyStreamWithLongLine_StripsCarriageReturnAndJoinsPartials()
    {
        var line = new string('t', 20_000);
        var raw = Concat(PartialFrames(0, $"{Ts1} ", line + "\r\n").Select(PayloadOf).Append(Bytes($"{Ts2} short\r\n")));

        var lines = await ReadAsync(new TrickleStream(raw, 5), multiplexed: false, tty: true, details: false);

        Assert.Equal([line, "short"], lines.Select(l => l.Text));
        Assert.All(lines, l => Assert.Equal(OutputStream.Stdout, l.Stream));
    }

    [Fact]
    public async Task ReadAsync_InterleavedReplicasWithPartialLines_KeepsEachReplicasLineWhole()
    {
        var longA = new string('A', Partial + 100);
        var framesA = PartialFrames(1, $"{Ts1} {TaskA} ", longA + "\n").ToList();
        // Replica B's line arrives between the two partial messages of replica A's line.
        var frames = new[] { framesA[0], Frame(1, $"{Ts2} {TaskB} from-b\n"), framesA[1] };

        var lines = await ReadAsync(Demultiplexed(frames, 11), tty: false, details: true);

        Assert.Equal(2, lines.Count);
        Assert.Equal(("from-b", TaskB), (lines[0].Text, lines[0].Details));
        Assert.Equal((longA, TaskA), (lines[1].Text, lines[1].Details));
    }

    [Fact]
    public async Task ReadAsync_SystemErrorFrame_IsReportedInPlaceAndNotALine()
    {
        var frames = new[]
        {
            Frame(1, $"{Ts1} before\n"),
            Frame(3, "Error grabbing logs: node n2 is not available\n"),
            Frame(2, $"{Ts2} after\n"),
        };
        var all = await ReadAllAsync(Demultiplexed(frames, 4), multiplexed: true, tty: false, details: false);

        var lines = all.Where(l => !l.IsDaemonError).ToList();
        Assert.Equal(["before", "after"], lines.Select(l => l.Text));
        Assert.Equal([OutputStream.Stdout, OutputStream.Stderr], lines.Select(l => l.Stream));
        // In the stream's order, between the lines it came between.
        Assert.Equal([false, true, false], all.Select(l => l.IsDaemonError));
        Assert.Equal("Error grabbing logs: node n2 is not available", all[1].Text);
    }

    [Fact]
    public async Task ReadAsync_LastLineWithoutNewlineAndLineWithoutTimestamp_AreKept()
    {
        var frames = new[] { Frame(1, "no timestamp here\n"), Frame(1, $"{Ts1} no-eol") };

        var lines = await ReadAsync(Demultiplexed(frames, 2), tty: false, details: false);

        Assert.Equal(["no timestamp here", "no-eol"], lines.Select(l => l.Text));
        Assert.True(lines[0].TimestampIsReceiveTime);
        Assert.False(lines[1].TimestampIsReceiveTime);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsInsideAFrame_IsUnavailable()
    {
        var frame = Frame(1, $"{Ts1} cut short\n");
        var truncated = frame[..(frame.Length - 3)];

        var ex = await Assert.ThrowsAsync<LogSourceException>(() => ReadAsync(new TrickleStream(truncated, 4), multiplexed: true, tty: false, details: false));

        Assert.Equal(LogSourceErrorKind.Unavailable, ex.Kind);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileWaiting_IsACancellationNotAFault()
    {
        using var cts = new CancellationTokenSource();
        var reader = new DockerLogReader("test", tty: false, details: false, TimeProvider.System);
        var read = Task.Run(async () =>
        {
            await foreach (var _ in reader.ReadAsync(new DockerStreamDemultiplexer(new NeverEndingStream(), multiplexed: true), cts.Token))
            {
            }
        });

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
    }

    private static async Task<List<DockerLogLine>> ReadAsync(Stream stream, bool multiplexed, bool tty, bool details, Action<string>? onError = null)
    {
        var lines = new List<DockerLogLine>();
        foreach (var line in await ReadAllAsync(stream, multiplexed, tty, details))
        {
            if (!line.IsDaemonError)
                lines.Add(line);
            else if (onError is null)
                Assert.Fail($"Unexpected daemon error: {line.Text}");
            else
                onError(line.Text);
        }
        return lines;
    }

    /// <summary>Lines and daemon errors, in the order the reader gave them.</summary>
    private static async Task<List<DockerLogLine>> ReadAllAsync(Stream stream, bool multiplexed, bool tty, bool details)
    {
        var reader = new DockerLogReader("test", tty, details, TimeProvider.System);
        var lines = new List<DockerLogLine>();
        await foreach (var line in reader.ReadAsync(new DockerStreamDemultiplexer(stream, multiplexed), CancellationToken.None))
            lines.Add(line);
        return lines;
    }

    private static Task<List<DockerLogLine>> ReadAsync(TrickleStream stream, bool tty, bool details, Action<string>? onError = null) =>
        ReadAsync(stream, multiplexed: true, tty, details, onError);

    private static TrickleStream Demultiplexed(IEnumerable<byte[]> frames, int bytesPerRead) => new(Concat(frames), bytesPerRead);

    /// <summary>A line as Docker's log copier stores and sends it: 16 KiB partial messages, each with the same prefix.</summary>
    private static IEnumerable<byte[]> PartialFrames(byte stream, string prefix, string line)
    {
        var body = Bytes(line);
        for (var offset = 0; offset < body.Length; offset += Partial)
            yield return Frame(stream, Concat([Bytes(prefix), body[offset..Math.Min(body.Length, offset + Partial)]]));
    }

    private static byte[] Frame(byte stream, string payload) => Frame(stream, Bytes(payload));

    private static byte[] Frame(byte stream, byte[] payload)
    {
        var frame = new byte[8 + payload.Length];
        frame[0] = stream;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(frame, 8);
        return frame;
    }

    private static byte[] PayloadOf(byte[] frame) => frame[8..];

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Gives at most a few bytes per read, as a socket may.</summary>
    private sealed class TrickleStream(byte[] data, int bytesPerRead) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);
    }

    /// <summary>A follow stream with nothing to say.</summary>
    private sealed class NeverEndingStream : MemoryStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }
}
