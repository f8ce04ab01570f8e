using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LogsMigration.Load.Infra;

/// <summary>
/// Debian's HAProxy (<c>scripts/haproxy.sh install</c>) running the shipped <c>deploy/haproxy/haproxy.cfg</c> in front
/// of the cluster scenario's instances, its settings given through the environment as <c>scripts/cluster.sh</c> and
/// the cluster integration tests give them. Every port is a free one the kernel picks (never the fixed ports of
/// <c>cluster.sh</c> or the integration tests, so a harness run and a test run on one machine cannot meet), the
/// runtime API is a unix socket in the run's own folder, and the access log goes to the run's log file.
/// </summary>
internal sealed class Haproxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly string _runtime;

    private Haproxy(Process process, StreamWriter log, string runtime, int port)
    {
        _process = process;
        _log = log;
        _runtime = runtime;
        Port = port;
    }

    /// <summary>Where viewers connect (127.0.0.1).</summary>
    public int Port { get; }
    public int Pid => _process.Id;
    public string WsBase => $"ws://127.0.0.1:{Port}";

    public static bool Installed() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Any(dir => File.Exists(Path.Combine(dir, "haproxy")));

    /// <summary>Starts HAProxy in front of <paramref name="instancePorts"/> (127.0.0.1, three of them) and waits for its runtime API.</summary>
    public static async Task<Haproxy> StartAsync(string repoRoot, IReadOnlyList<int> instancePorts, string directory, string logFile, CancellationToken cancellationToken)
    {
        if (!Installed())
            throw new InvalidOperationException("haproxy is not installed (bash scripts/haproxy.sh install)");
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var runtime = Path.Combine(directory, "runtime.sock");
        var port = FreePort();
        var info = new ProcessStartInfo("haproxy", ["-f", Path.Combine(repoRoot, "deploy", "haproxy", "haproxy.cfg"), "-p", Path.Combine(directory, "haproxy.pid")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = info.Environment;
        env["LOGS_PROXY_BIND"] = $"127.0.0.1:{port}";
        for (var i = 0; i < instancePorts.Count; i++)
            env[$"LOGS_INSTANCE_{i + 1}"] = $"127.0.0.1:{instancePorts[i]}";
        env["LOGS_DEFAULT_HOST"] = "local";
        env["LOGS_PEER_NAME"] = "load-proxy";
        env["LOGS_PEER_ADDR"] = $"127.0.0.1:{FreePort()}";
        // The second peer is never started: its port is free (refused), as in the integration tests.
        env["LOGS_PEER2_NAME"] = "load-proxy-2";
        env["LOGS_PEER2_ADDR"] = $"127.0.0.1:{FreePort()}";
        env["LOGS_HAPROXY_RUNTIME"] = runtime;
        env["LOGS_HAPROXY_LOG"] = "stdout";
        env["LOGS_HAPROXY_HARD_STOP_AFTER"] = "3s";
        env["LOGS_STATS_BIND"] = $"127.0.0.1:{FreePort()}";
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start");
        var proxy = new Haproxy(process, log, runtime, port);
        process.OutputDataReceived += (_, e) => proxy.Append(e.Data);
        process.ErrorDataReceived += (_, e) => proxy.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var waited = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"haproxy exited with {process.ExitCode} at start; see {logFile}");
                try
                {
                    if ((await proxy.CommandAsync("show info", cancellationToken)).Contains("Name: HAProxy", StringComparison.Ordinal))
                        return proxy;
                }
                catch (SocketException)
                {
                }
                if (waited.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException($"HAProxy's runtime API did not answer within 30 s; see {logFile}");
                await Task.Delay(100, cancellationToken);
            }
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // A last line after the process was stopped.
            }
        }
    }

    /// <summary>One command on the runtime API; its whole answer.</summary>
    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
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
    /// Each server of the backend by name (<c>show stat</c>): whether HAProxy has it UP, and how often its checks took it
    /// from up to down (<c>chkdown</c>): a survivor with a non-zero count was marked down by a slow check on a loaded
    /// machine, and <c>shutdown-sessions</c> moved its viewers too.
    /// </summary>
    public async Task<Dictionary<string, (bool Up, int Downs)>> ServersAsync(CancellationToken cancellationToken)
    {
        var lines = (await CommandAsync("show stat", cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var (status, downs) = (Column("status"), Column("chkdown"));
        var servers = new Dictionary<string, (bool, int)>(StringComparer.Ordinal);
        foreach (var fields in lines.Skip(1).Select(l => l.Split(',')))
        {
            if (fields.Length < header.Length || fields[0] != "instances" || fields[1] is "FRONTEND" or "BACKEND")
                continue;
            servers[fields[1]] = (fields[status].StartsWith("UP", StringComparison.Ordinal), int.TryParse(fields[downs], out var d) ? d : 0);
        }
        return servers;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // The master and its worker.
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        lock (_log)
            _log.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
