using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// A browser tab behind the proxy: it connects with its own token and <c>tail</c>, remembers the <c>cursor</c> of the
/// last line it showed and, whenever its socket closes (an instance killed, a drain, a proxy reload), connects again
/// through the proxy with <c>resume=&lt;cursor&gt;</c>. It records every numbered line, every gap marker, and which
/// instance served each connection (<c>connected.instance</c>).
/// </summary>
public sealed class ClusterViewer(HaproxyProcess proxy, string path, int tail, string token)
{
    private readonly Lock _gate = new();
    private readonly List<long> _numbers = [];
    private readonly List<string> _gaps = [];
    private readonly List<string> _instances = [];
    private string? _cursor;
    private ClientWebSocket? _socket;
    private DateTime _lastLine = DateTime.UtcNow;

    public int Tail => tail;
    public IReadOnlyList<long> Numbers { get { lock (_gate) return [.. _numbers]; } }
    public IReadOnlyList<string> Gaps { get { lock (_gate) return [.. _gaps]; } }

    /// <summary>The instance of each connection so far, in order.</summary>
    public IReadOnlyList<string> Instances { get { lock (_gate) return [.. _instances]; } }

    public string? Instance { get { lock (_gate) return _instances.Count > 0 ? _instances[^1] : null; } }

    public int Count { get { lock (_gate) return _numbers.Count; } }

    public long Last { get { lock (_gate) return _numbers.Count > 0 ? _numbers[^1] : 0; } }

    public bool Connected => _socket?.State == WebSocketState.Open;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = new ClientWebSocket();
            try
            {
                string? cursor;
                lock (_gate)
                    cursor = _cursor;
                var query = cursor is null ? $"{path}?tail={tail}" : $"{path}?resume={Uri.EscapeDataString(cursor)}";
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await socket.ConnectAsync(proxy.WebSocketUri($"{query}&timestamps=false&token={token}"), timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException)
            {
                socket.Dispose();
                // No instance can take it right now (all restarting, the proxy reloading): again shortly, as the frontend does.
                if (!cancellationToken.IsCancellationRequested)
                    await Task.Delay(200, CancellationToken.None);
                continue;
            }
            _socket = socket;
            await ReadAsync(socket, cancellationToken);
        }
    }

    private async Task ReadAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (await WsFrames.NextAsync(socket, TimeSpan.FromMinutes(3)) is not { } frame)
                    break;
                var type = frame.GetProperty("type").GetString();
                if (type == "connected")
                {
                    lock (_gate)
                        _instances.Add(frame.GetProperty("instance").GetString()!);
                }
                else if (type == "log" && frame.TryGetProperty("gap", out var gap))
                {
                    lock (_gate)
                        _gaps.Add(gap.ToString());
                }
                else if (type == "log" && !frame.TryGetProperty("notice", out _))
                {
                    var number = WsFrames.Number(frame);
                    lock (_gate)
                    {
                        _numbers.Add(number);
                        _cursor = frame.GetProperty("cursor").GetString();
                        _lastLine = DateTime.UtcNow;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException or ObjectDisposedException)
        {
        }
        _socket = null;
        socket.Dispose();
    }

    /// <summary>Closes the current connection from the client's side (the test's end).</summary>
    public void Abort() => _socket?.Abort();

    /// <summary>Numbers seen more than once, and numbers missing from the first seen to the last.</summary>
    public (long[] Repeated, long[] Missing) Check()
    {
        var numbers = Numbers;
        var repeated = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (numbers.Count == 0)
            return (repeated, []);
        var seen = numbers.ToHashSet();
        var (min, max) = (numbers.Min(), numbers.Max());
        var missing = Enumerable.Range(0, (int)(max - min + 1)).Select(i => min + i).Where(n => !seen.Contains(n)).ToArray();
        return (repeated, missing);
    }
}
