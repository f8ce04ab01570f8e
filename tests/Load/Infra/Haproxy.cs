using System.Net;
using System.Net.Sockets;
using LogsMigration.Tests.Support;

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
    private readonly HaproxyRunner _runner;
    private readonly StreamWriter _log;

    private Haproxy(HaproxyRunner runner, StreamWriter log, int port)
    {
        _runner = runner;
        _log = log;
        Port = port;
    }

    /// <summary>Where viewers connect (127.0.0.1).</summary>
    public int Port { get; }
    public int Pid => _runner.MasterPid;
    public string WsBase => $"ws://127.0.0.1:{Port}";

    public static bool Installed() => HaproxyRunner.Installed();

    /// <summary>Starts HAProxy in front of <paramref name="instancePorts"/> (127.0.0.1, three of them) and waits for its runtime API.</summary>
    public static async Task<Haproxy> StartAsync(string repoRoot, IReadOnlyList<int> instancePorts, string directory, string logFile, CancellationToken cancellationToken)
    {
        if (!Installed())
            throw new InvalidOperationException("haproxy is not installed (bash scripts/haproxy.sh install)");
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var port = FreePort();
        var settings = new HaproxySettings($"127.0.0.1:{port}", instancePorts, Path.Combine(directory, "runtime.sock"), FreePort(),
            "load-proxy", FreePort(), "load-proxy-2", FreePort());
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        void Append(string line)
        {
            lock (log)
            {
                try
                {
                    log.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    // A last line after the process was stopped.
                }
            }
        }
        try
        {
            return new Haproxy(await HaproxyRunner.StartAsync(Path.Combine(repoRoot, "deploy", "haproxy", "haproxy.cfg"), directory, settings, Append, cancellationToken), log, port);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            lock (log)
                log.Dispose();
            throw new InvalidOperationException($"{ex.Message}; see {logFile}", ex);
        }
    }

    /// <summary>
    /// Each server of the backend by name: whether HAProxy has it UP, and how often its checks took it from up to down
    /// (<c>chkdown</c>): a survivor with a non-zero count was marked down by a slow check on a loaded machine, and
    /// <c>shutdown-sessions</c> moved its viewers too.
    /// </summary>
    public async Task<Dictionary<string, (bool Up, int Downs)>> ServersAsync(CancellationToken cancellationToken) =>
        (await _runner.ServerStatsAsync(cancellationToken)).ToDictionary(
            s => s.Key,
            s => (s.Value["status"].StartsWith("UP", StringComparison.Ordinal), int.TryParse(s.Value["chkdown"], out var d) ? d : 0),
            StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        await _runner.DisposeAsync();
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
