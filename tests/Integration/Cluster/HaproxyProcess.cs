using System.Text;
using LogsMigration.Tests.Integration.Infrastructure;
using LogsMigration.Tests.Support;

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
    private readonly HaproxyRunner _runner;
    private readonly StringBuilder _log;

    private HaproxyProcess(HaproxyRunner runner, StringBuilder log, string config)
    {
        _runner = runner;
        _log = log;
        ConfigPath = config;
    }

    public static string ShippedConfig => Path.Combine(EngineScript.RepositoryRoot, "deploy", "haproxy", "haproxy.cfg");

    public string ConfigPath { get; }

    public int MasterPid => _runner.MasterPid;

    public string Log { get { lock (_log) return _log.ToString(); } }

    public int Reloads { get; private set; }

    /// <summary>The settings of the tests' fixed ports (<see cref="PortBase"/>), with <paramref name="proxyBind"/> as the bind line.</summary>
    public static HaproxySettings Settings(IReadOnlyList<int> instancePorts, string runtimeSocket, string peerName, string? proxyBind = null) =>
        new(proxyBind ?? $"127.0.0.1:{ProxyPort}", instancePorts, runtimeSocket, PortBase + 9, peerName, PortBase + 10, peerName + "-2", PortBase + 11);

    /// <summary>Starts HAProxy in front of the three instances at <paramref name="instancePorts"/> (127.0.0.1).</summary>
    public static async Task<HaproxyProcess> StartAsync(IReadOnlyList<int> instancePorts, string directory, string? config = null)
    {
        var log = new StringBuilder();
        void Append(string line)
        {
            lock (log)
                log.AppendLine(line);
        }
        HaproxyRunner runner;
        try
        {
            runner = await HaproxyRunner.StartAsync(config ?? ShippedConfig, directory, Settings(instancePorts, Path.Combine(directory, "runtime.sock"), "it-proxy"), Append);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            lock (log)
                throw new InvalidOperationException($"{ex.Message}:\n{log}", ex);
        }
        return new HaproxyProcess(runner, log, config ?? ShippedConfig);
    }

    public Uri WebSocketUri(string pathAndQuery) => new($"ws://127.0.0.1:{ProxyPort}{pathAndQuery}");

    /// <summary>One command on the runtime API; its whole answer.</summary>
    public Task<string> CommandAsync(string command) => _runner.CommandAsync(command);

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

    /// <summary>HAProxy's statistics of each server, by column name (<see cref="HaproxyRunner.ServerStatsAsync"/>).</summary>
    public Task<Dictionary<string, Dictionary<string, string>>> ServerStatsAsync() => _runner.ServerStatsAsync();

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

    public ValueTask DisposeAsync() => _runner.DisposeAsync();
}
