using System.Buffers.Binary;
using System.Net.Sockets;
using LogsMigration.Load.Clients;

namespace LogsMigration.Load.Raw;

/// <summary>
/// The raw+docker ceiling's input: one <c>GET /containers/{name}/logs?follow=1&amp;timestamps=1&amp;tail=0</c> on
/// dockerd's socket, its multiplexed stream (8-byte headers) read as it comes, each <c>n=…</c> line turned into the
/// same <c>log</c> frame as the generator's, carrying Docker's own timestamp (as the service's lines do), and handed
/// to the clients. Nothing else: no reconnect, no parsing beyond the counter.
/// </summary>
internal static class DockerFollow
{
    /// <summary>
    /// Opens the follow and returns once dockerd has answered it; the stream is then read in the background until its
    /// last line, <paramref name="stopping"/> (the run's end or the server's) or a broken connection.
    /// </summary>
    public static async Task StartAsync(string socketPath, string container, long lastLine, Action<byte[]> broadcast, CancellationToken stopping)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/"), Timeout = Timeout.InfiniteTimeSpan };
        HttpResponseMessage? response = null;
        Stream body;
        try
        {
            response = await http.GetAsync($"containers/{container}/logs?follow=1&stdout=1&stderr=1&timestamps=1&tail=0", HttpCompletionOption.ResponseHeadersRead, stopping);
            response.EnsureSuccessStatusCode();
            body = await response.Content.ReadAsStreamAsync(stopping);
        }
        catch
        {
            // The reader below owns them from here on; until then a failed open gives them back itself.
            response?.Dispose();
            http.Dispose();
            throw;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await ReadAsync(body, container, lastLine, broadcast, stopping);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or HttpRequestException)
            {
            }
            finally
            {
                response.Dispose();
                http.Dispose();
            }
        }, CancellationToken.None);
    }

    private static async Task ReadAsync(Stream body, string container, long lastLine, Action<byte[]> broadcast, CancellationToken stopping)
    {
        var header = new byte[8];
        var payload = new byte[64 * 1024];
        while (true)
        {
            await body.ReadExactlyAsync(header, stopping);
            var size = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (size > payload.Length)
                payload = new byte[size];
            await body.ReadExactlyAsync(payload.AsMemory(0, size), stopping);
            if (OnLine(payload.AsSpan(0, size), container, broadcast) >= lastLine)
                return;
        }
    }

    /// <summary>One entry, <c>&lt;RFC 3339 ns&gt; n=&lt;counter&gt; &lt;text&gt;\n</c>: its frame goes to every client. Returns the counter (0: not a numbered line).</summary>
    private static long OnLine(ReadOnlySpan<byte> entry, string container, Action<byte[]> broadcast)
    {
        var space = entry.IndexOf((byte)' ');
        if (space < 0)
            return 0;
        var stamp = FrameParser.ParseRfc3339Nanoseconds(entry[..space], out _);
        var rest = entry[(space + 1)..].TrimEnd("\r\n"u8);
        if (!rest.StartsWith("n="u8))
            return 0;
        long n = 0;
        var i = 2;
        for (; i < rest.Length && (uint)(rest[i] - '0') <= 9; i++)
            n = n * 10 + (rest[i] - '0');
        var text = i < rest.Length ? System.Text.Encoding.UTF8.GetString(rest[(i + 1)..]) : "";
        broadcast(RawFrames.Log(container, n, text, stamp));
        return n;
    }
}
