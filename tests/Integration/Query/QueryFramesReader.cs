using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>Reads the frames of a query: <c>log</c> lines and <c>scan_progress</c> reports, failing on gaps and errors.</summary>
internal static class QueryFramesReader
{
    /// <summary>Frames until <paramref name="lines"/> log lines were read (heartbeats skipped), with the progress reports among them.</summary>
    public static async Task<(List<JsonElement> Logs, List<JsonElement> Progress)> ReadAsync(WebSocket socket, int lines, TimeSpan? timeout = null)
    {
        var logs = new List<JsonElement>();
        var progress = new List<JsonElement>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (logs.Count < lines)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"Got {logs.Count} of {lines} lines in time.");
            var frame = await WsFrames.NextAsync(socket, left) ?? throw new InvalidOperationException($"Closed after {logs.Count} of {lines} lines: {socket.CloseStatus} {socket.CloseStatusDescription}");
            switch (frame.GetProperty("type").GetString())
            {
                case "log" when frame.TryGetProperty("gap", out _):
                    throw new InvalidOperationException($"Gap marker after {logs.Count} lines: {frame}");
                case "log":
                    logs.Add(frame);
                    break;
                case "scan_progress":
                    progress.Add(frame);
                    break;
                case "heartbeat" or "connected":
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected frame after {logs.Count} lines: {frame}");
            }
        }
        return (logs, progress);
    }

    /// <summary>The scan's last <c>scan_progress</c> frame (<c>done</c> or <c>capped</c>): they all come before the history's first line.</summary>
    public static async Task<JsonElement> FinalProgressAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException("No final scan_progress in time.");
            var frame = await WsFrames.NextAsync(socket, left) ?? throw new InvalidOperationException($"Closed before the scan ended: {socket.CloseStatus} {socket.CloseStatusDescription}");
            switch (frame.GetProperty("type").GetString())
            {
                case "scan_progress" when frame.GetProperty("state").GetString() != "scanning":
                    return frame;
                case "scan_progress" or "heartbeat" or "connected":
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected frame before the scan ended: {frame}");
            }
        }
    }

    /// <summary>Log lines up to and including the first whose message contains <paramref name="last"/> (the test's sentinel), failing on gaps and errors.</summary>
    public static async Task<List<string>> UntilLineAsync(WebSocket socket, string last, TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (lines.Count == 0 || !lines[^1].Contains(last, StringComparison.Ordinal))
        {
            var (logs, _) = await ReadAsync(socket, 1, timeout);
            lines.Add(Message(logs[0]));
        }
        return lines;
    }

    /// <summary>Every log line until <c>complete</c> (the end of a history-only query).</summary>
    public static async Task<List<JsonElement>> UntilCompleteAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        var frames = await WsFrames.UntilClosedAsync(socket, timeout ?? TimeSpan.FromSeconds(120));
        Assert.Equal("complete", frames[^1].GetProperty("type").GetString());
        Assert.DoesNotContain(frames, f => f.TryGetProperty("gap", out _));
        return frames.Where(f => f.GetProperty("type").GetString() == "log").ToList();
    }

    public static string Message(JsonElement log) => log.GetProperty("message").GetString()!;
}
