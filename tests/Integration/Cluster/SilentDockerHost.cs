using System.Net;
using System.Net.Sockets;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// A Docker host that does not answer: a loopback TCP port that accepts connections and never sends a byte (a daemon
/// hung, or a host behind a firewall that drops replies). Worse than a refused connection: every call waits for its
/// own timeout.
/// </summary>
public sealed class SilentDockerHost : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stopping = new();

    public SilentDockerHost()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>As <c>Docker:Hosts:&lt;id&gt;:Endpoint</c> takes it.</summary>
    public string Endpoint => $"tcp://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Accepted { get { lock (_held) return _held.Count; } }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stopping.Token);
                lock (_held)
                    _held.Add(socket);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _listener.Stop();
        lock (_held)
        {
            foreach (var socket in _held)
                socket.Dispose();
        }
        _stopping.Dispose();
    }
}
