using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;

namespace LogsMigration.Tests.Integration.Resume;

/// <summary>
/// A viewer that does what a browser tab should: it remembers the <c>cursor</c> of the last line it showed and, when
/// its socket closes for any reason, connects again (to whichever service instance is current) with
/// <c>resume=&lt;cursor&gt;</c>. It records every numbered line and every gap marker it got.
/// </summary>
public sealed class ResumingViewer(string path)
{
    private readonly Lock _gate = new();
    private readonly List<long> _numbers = [];
    private readonly List<string> _gaps = [];
    private readonly List<string> _closes = [];
    private string? _cursor;

    public int Connections { get; private set; }

    public IReadOnlyList<long> Numbers { get { lock (_gate) return [.. _numbers]; } }
    public IReadOnlyList<string> Gaps { get { lock (_gate) return [.. _gaps]; } }

    /// <summary>How each connection ended: close status and the last control frame before it.</summary>
    public IReadOnlyList<string> Closes { get { lock (_gate) return [.. _closes]; } }

    public int Count { get { lock (_gate) return _numbers.Count; } }

    /// <summary>Reads until cancelled, reconnecting through <paramref name="service"/> (the current instance) after every close.</summary>
    public async Task RunAsync(Func<ServiceProcess?> service, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var current = service();
            if (current is null)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }
            ClientWebSocket socket;
            try
            {
                var query = _cursor is null ? $"{path}&tail=0" : $"{path}&resume={Uri.EscapeDataString(_cursor)}";
                socket = await current.ConnectAsync(query);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException)
            {
                // The instance is gone or not listening yet: try again shortly, as the frontend's reconnect does.
                await Task.Delay(100, CancellationToken.None);
                continue;
            }
            Connections++;
            await ReadAsync(socket, cancellationToken);
        }
    }

    private async Task ReadAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var last = "";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (await WsFrames.NextAsync(socket, TimeSpan.FromMinutes(2)) is not { } frame)
                    break;
                var type = frame.GetProperty("type").GetString();
                if (type == "log" && frame.TryGetProperty("gap", out var gap))
                {
                    lock (_gate)
                        _gaps.Add(gap.ToString());
                }
                else if (type == "log")
                {
                    var number = WsFrames.Number(frame);
                    lock (_gate)
                    {
                        _numbers.Add(number);
                        _cursor = frame.GetProperty("cursor").GetString();
                    }
                }
                else if (type is "disconnected" or "error")
                {
                    last = frame.ToString();
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
        {
            last = $"{last} ({ex.GetType().Name})";
        }
        lock (_gate)
            _closes.Add($"{socket.CloseStatus?.ToString() ?? "none"}:{(int?)socket.CloseStatus} {last}");
        socket.Dispose();
    }

    /// <summary>Numbers seen more than once, and numbers missing between the first and the last seen.</summary>
    public (long[] Repeated, long[] Missing) Check()
    {
        var numbers = Numbers;
        var repeated = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (numbers.Count == 0)
            return (repeated, []);
        var seen = numbers.ToHashSet();
        var missing = Enumerable.Range(0, (int)(numbers.Max() - numbers.Min() + 1)).Select(i => numbers.Min() + i).Where(n => !seen.Contains(n)).ToArray();
        return (repeated, missing);
    }
}
