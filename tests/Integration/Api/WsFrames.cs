using System.Net.WebSockets;
using System.Text.Json;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>Reads JSON frames from a client WebSocket.</summary>
public static class WsFrames
{
    // Only a failing test waits this long: generous, for a service process on a loaded machine.
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The next frame, or null when the server closed.</summary>
    public static async Task<JsonElement?> NextAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
                return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
        }
    }

    /// <summary>The next <paramref name="count"/> <c>log</c> frames, skipping heartbeats; fails on a gap marker or an error.</summary>
    public static async Task<List<JsonElement>> LogsAsync(WebSocket socket, int count, TimeSpan? timeout = null)
    {
        var logs = new List<JsonElement>(count);
        // One deadline for all of them: heartbeats must not keep a wait for missing lines alive forever.
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (logs.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"Got {logs.Count} of {count} lines in time.");
            var frame = await NextAsync(socket, left) ?? throw new InvalidOperationException($"Closed after {logs.Count} of {count} lines: {socket.CloseStatus} {socket.CloseStatusDescription}");
            switch (frame.GetProperty("type").GetString())
            {
                case "log" when frame.TryGetProperty("gap", out _):
                    throw new InvalidOperationException($"Gap marker after {logs.Count} lines: {frame}");
                case "log":
                    logs.Add(frame);
                    break;
                case "heartbeat" or "connected":
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected frame after {logs.Count} lines: {frame}");
            }
        }
        return logs;
    }

    /// <summary>Every frame until the server closes.</summary>
    public static async Task<List<JsonElement>> UntilClosedAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        var frames = new List<JsonElement>();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"The server did not close within the deadline; {frames.Count} frames so far.");
            if (await NextAsync(socket, left) is not { } frame)
                return frames;
            frames.Add(frame);
        }
    }

    /// <summary>The number in a line written as <c>n=123</c> (the test containers' numbered lines).</summary>
    public static long Number(JsonElement log)
    {
        var text = log.GetProperty("message").GetString()!;
        var at = text.IndexOf("n=", StringComparison.Ordinal);
        var end = at + 2;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
            end++;
        return long.Parse(text.AsSpan(at + 2, end - at - 2), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task CloseQuietlyAsync(WebSocket socket)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (socket.State == WebSocketState.Open)
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        socket.Dispose();
    }
}
