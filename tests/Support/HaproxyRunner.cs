using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace LogsMigration.Tests.Support;

/// <summary>
/// Where the shipped <c>deploy/haproxy/haproxy.cfg</c> listens and what it fronts, given through the environment as
/// an operator (and <c>scripts/cluster.sh</c>) gives it. The second peer is never started by the tests or the harness:
/// its port is refused, as a peer that is down. <c>ProxyBind</c> is HAProxy's bind line: an address, and options
/// such as <c>ssl crt FILE</c>.
/// </summary>
public sealed record HaproxySettings(
    string ProxyBind, IReadOnlyList<int> InstancePorts, string RuntimeSocket, int StatsPort,
    string PeerName, int PeerPort, string Peer2Name, int Peer2Port)
{
    public Dictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["LOGS_PROXY_BIND"] = ProxyBind,
            ["LOGS_DEFAULT_HOST"] = "local",
            ["LOGS_PEER_NAME"] = PeerName,
            ["LOGS_PEER_ADDR"] = $"127.0.0.1:{PeerPort}",
            ["LOGS_PEER2_NAME"] = Peer2Name,
            ["LOGS_PEER2_ADDR"] = $"127.0.0.1:{Peer2Port}",
            ["LOGS_HAPROXY_RUNTIME"] = RuntimeSocket,
            ["LOGS_HAPROXY_LOG"] = "stdout",
            ["LOGS_HAPROXY_HARD_STOP_AFTER"] = "3s",
            ["LOGS_STATS_BIND"] = $"127.0.0.1:{StatsPort}",
        };
        for (var i = 0; i < InstancePorts.Count; i++)
            env[$"LOGS_INSTANCE_{i + 1}"] = $"127.0.0.1:{InstancePorts[i]}";
        return env;
    }
}

/// <summary>
/// Debian's HAProxy (master-worker, in the foreground) running a configuration with <see cref="HaproxySettings"/>:
/// every line it prints goes to <c>onLine</c> (its access log is its standard output), and its runtime API answers on
/// the settings' unix socket.
/// </summary>
public sealed class HaproxyRunner : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _runtime;

    private HaproxyRunner(Process process, string runtime)
    {
        _process = process;
        _runtime = runtime;
    }

    public int MasterPid => _process.Id;

    public static bool Installed() =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Any(dir => File.Exists(Path.Combine(dir, "haproxy")));

    /// <summary>Starts HAProxy and waits (at most 30 s) until its runtime API answers; a process that exits first fails with its code.</summary>
    public static async Task<HaproxyRunner> StartAsync(string config, string directory, HaproxySettings settings, Action<string> onLine, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        var info = new ProcessStartInfo("haproxy", ["-f", config, "-p", Path.Combine(directory, "haproxy.pid")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in settings.Environment())
            info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start");
        var proxy = new HaproxyRunner(process, settings.RuntimeSocket);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var waited = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"haproxy exited with {process.ExitCode} at start");
                try
                {
                    if ((await proxy.CommandAsync("show info", cancellationToken)).Contains("Name: HAProxy", StringComparison.Ordinal))
                        return proxy;
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
                if (waited.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException("HAProxy's runtime API did not answer within 30 s");
                await Task.Delay(100, cancellationToken);
            }
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>One command on the runtime API (10 s at most); its whole answer.</summary>
    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken = default)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_runtime), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, timeout.Token);
        var answer = new StringBuilder();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        return answer.ToString();
    }

    /// <summary>
    /// HAProxy's statistics of each server of the <c>instances</c> backend (<c>show stat</c>), by column name:
    /// <c>status</c> (UP, DOWN…), <c>chkdown</c> (how often it went from up to down), <c>lastchg</c> (seconds since its
    /// last change of state), <c>chkfail</c> (failed checks).
    /// </summary>
    public async Task<Dictionary<string, Dictionary<string, string>>> ServerStatsAsync(CancellationToken cancellationToken = default)
    {
        var lines = (await CommandAsync("show stat", cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        var stats = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < header.Length || fields[0] != "instances" || fields[1] is "FRONTEND" or "BACKEND")
                continue;
            stats[fields[1]] = header.Zip(fields).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        }
        return stats;
    }

    /// <summary>Stops the master and its workers.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // It had exited.
        }
        _process.Dispose();
    }
}
