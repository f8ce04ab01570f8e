using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// Debian's HAProxy running the shipped <c>deploy/haproxy/haproxy.cfg</c> (master-worker, in the foreground), its
/// settings given through the environment as an operator would, its access log captured from its standard output,
/// and its runtime API on a unix socket.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    /// <summary>
    /// The first of the twelve loopback ports the cluster tests use (proxy, instances +1..+4, stats +9, peers +10/+11):
    /// <c>LOGS_TEST_CLUSTER_PORT_BASE</c>, 18420 when unset, so two runs on one machine can be kept apart.
    /// </summary>
    public static readonly int PortBase = int.TryParse(Environment.GetEnvironmentVariable("LOGS_TEST_CLUSTER_PORT_BASE"), out var b) ? b : 18420;

    public static int ProxyPort => PortBase;
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _runtime;

    private HaproxyProcess(Process process, string runtime, string config)
    {
        _process = process;
        _runtime = runtime;
        ConfigPath = config;
    }

    public static string ShippedConfig => Path.Combine(EngineScript.RepositoryRoot, "deploy", "haproxy", "haproxy.cfg");

    public string ConfigPath { get; }

    public int MasterPid => _process.Id;

    public string Log { get { lock (_log) return _log.ToString(); } }

    public int Reloads { get; private set; }

    /// <summary>Starts HAProxy in front of the three instances at <paramref name="instancePorts"/> (127.0.0.1).</summary>
    public static async Task<HaproxyProcess> StartAsync(IReadOnlyList<int> instancePorts, string directory, string? config = null)
    {
        Directory.CreateDirectory(directory);
        var runtime = Path.Combine(directory, "runtime.sock");
        var info = new ProcessStartInfo("haproxy", ["-f", config ?? ShippedConfig, "-p", Path.Combine(directory, "haproxy.pid")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = info.Environment;
        env["LOGS_PROXY_BIND"] = $"127.0.0.1:{ProxyPort}";
        for (var i = 0; i < instancePorts.Count; i++)
            env[$"LOGS_INSTANCE_{i + 1}"] = $"127.0.0.1:{instancePorts[i]}";
        env["LOGS_DEFAULT_HOST"] = "local";
        env["LOGS_PEER_NAME"] = "it-proxy";
        env["LOGS_PEER_ADDR"] = $"127.0.0.1:{PortBase + 10}";
        env["LOGS_PEER2_NAME"] = "it-proxy-2";
        env["LOGS_PEER2_ADDR"] = $"127.0.0.1:{PortBase + 11}";
        env["LOGS_HAPROXY_RUNTIME"] = runtime;
        env["LOGS_HAPROXY_LOG"] = "stdout";
        env["LOGS_HAPROXY_HARD_STOP_AFTER"] = "3s";
        env["LOGS_STATS_BIND"] = $"127.0.0.1:{PortBase + 9}";
        var process = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start.");
        var proxy = new HaproxyProcess(process, runtime, config ?? ShippedConfig);
        process.OutputDataReceived += (_, e) => proxy.Append(e.Data);
        process.ErrorDataReceived += (_, e) => proxy.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.True(async () =>
        {
            if (process.HasExited)
                throw new InvalidOperationException($"haproxy exited ({process.ExitCode}):\n{proxy.Log}");
            try
            {
                return (await proxy.CommandAsync("show info")).Contains("Name: HAProxy", StringComparison.Ordinal);
            }
            catch (SocketException)
            {
                return false;
            }
        }, "HAProxy's runtime API to answer", interval: TimeSpan.FromMilliseconds(100));
        return proxy;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.AppendLine(line);
    }

    public Uri WebSocketUri(string pathAndQuery) => new($"ws://127.0.0.1:{ProxyPort}{pathAndQuery}");

    /// <summary>One command on the runtime API; its whole answer.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_runtime), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, timeout.Token);
        var answer = new StringBuilder();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        return answer.ToString();
    }

    /// <summary>The stick table: resource key to server name.</summary>
    public async Task<Dictionary<string, string>> StickTableAsync()
    {
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (await CommandAsync("show table instances")).Split('\n'))
        {
            var key = Field(line, "key=");
            var server = Field(line, "server_key=");
            if (key is not null && server is not null)
                table[key] = server;
        }
        return table;

        static string? Field(string line, string name)
        {
            var at = line.IndexOf(" " + name, StringComparison.Ordinal);
            if (at < 0)
                return null;
            var start = at + name.Length + 1;
            var end = line.IndexOf(' ', start);
            return end < 0 ? line[start..].Trim() : line[start..end];
        }
    }

    /// <summary>Each server's operational state as the runtime API gives it (2 = up, 0 = down).</summary>
    public async Task<Dictionary<string, int>> ServerStatesAsync()
    {
        var states = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in (await CommandAsync("show servers state instances")).Split('\n'))
        {
            var fields = line.Split(' ');
            if (fields.Length > 6 && fields[1] == "instances")
                states[fields[3]] = int.Parse(fields[5], System.Globalization.CultureInfo.InvariantCulture);
        }
        return states;
    }

    /// <summary>
    /// HAProxy's statistics of each server of the backend (<c>show stat</c>), by column name: <c>status</c> (UP, DOWN…),
    /// <c>chkdown</c> (how often it went from up to down), <c>lastchg</c> (seconds since its last change of state),
    /// <c>chkfail</c> (failed checks).
    /// </summary>
    public async Task<Dictionary<string, Dictionary<string, string>>> ServerStatsAsync()
    {
        var lines = (await CommandAsync("show stat")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
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

    /// <summary>Reloads the configuration (SIGUSR2 to the master) and waits until the new worker has loaded it.</summary>
    public async Task ReloadAsync()
    {
        var before = Count(Log, "Loading success");
        Signals.Send(MasterPid, Signals.Usr2);
        Reloads++;
        await Eventually.True(() => Count(Log, "Loading success") > before, "HAProxy's reload to load");
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
            count++;
        return count;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
