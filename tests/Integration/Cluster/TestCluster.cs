using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// Three service processes on 127.0.0.1, ports base+1..base+3 (a fourth on demand at base+4; base 18420 or
/// <c>LOGS_TEST_CLUSTER_PORT_BASE</c>) against the main test engine, named <c>i1</c>… in <c>connected.instance</c>,
/// behind <see cref="HaproxyProcess"/> on the base port running a copy of the
/// shipped configuration (so a test may add a server to it and reload).
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    public static int FirstInstancePort => HaproxyProcess.PortBase + 1;
    private readonly Dictionary<string, string> _settings;

    private TestCluster(string endpoint, string directory, Dictionary<string, string> settings)
    {
        Endpoint = endpoint;
        Directory = directory;
        _settings = settings;
    }

    public string Endpoint { get; }
    public string Directory { get; }
    public HaproxyProcess Proxy { get; private set; } = null!;

    /// <summary>Instances by name; a killed one stays listed (its pid is still what the test counts from).</summary>
    public Dictionary<string, ServiceProcess> Instances { get; } = new(StringComparer.Ordinal);

    public static async Task<TestCluster> StartAsync(IDictionary<string, string>? extra = null)
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var settings = new Dictionary<string, string>
        {
            // Upstreams of resources nobody watches go quickly, so the daemon's count settles within the test.
            ["Pipeline:IdleGrace"] = "00:00:01",
            ["Streaming:ShutdownDrainWindow"] = "00:00:05",
            // As scripts/cluster.sh runs instances: reconnect storms answered from the resolve cache.
            ["Pipeline:ResolveCacheTtl"] = "00:00:05",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        var directory = Path.Combine(Path.GetTempPath(), "lmit-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var cluster = new TestCluster(endpoint, directory, settings);
        try
        {
            await Task.WhenAll(Enumerable.Range(1, 3).Select(cluster.StartInstanceAsync));
            var config = Path.Combine(directory, "haproxy.cfg");
            await File.WriteAllTextAsync(config, ForTests(await File.ReadAllTextAsync(HaproxyProcess.ShippedConfig)));
            cluster.Proxy = await HaproxyProcess.StartAsync([FirstInstancePort, FirstInstancePort + 1, FirstInstancePort + 2], directory, config);
            await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The shipped configuration with health checks generous enough for the shared 2-core test machine: a check may
    /// take up to 10 s to answer there (CPU, not Docker: /readyz never waits for a Docker ping) before it counts as a
    /// failure. Three failures still mark a frozen or killed instance down, within about 35 s.
    /// </summary>
    public static string ForTests(string config)
    {
        const string Shipped = "    timeout check 4s\n";
        if (!config.Contains(Shipped, StringComparison.Ordinal))
            throw new InvalidOperationException("deploy/haproxy/haproxy.cfg no longer sets `timeout check 4s`: update TestCluster.ForTests.");
        return config.Replace(Shipped, "    timeout check 10s\n", StringComparison.Ordinal);
    }

    public async Task<ServiceProcess> StartInstanceAsync(int number)
    {
        var settings = new Dictionary<string, string>(_settings) { ["Streaming:InstanceId"] = $"i{number}" };
        var instance = await ServiceProcess.StartOnAsync(Endpoint, settings, $"http://127.0.0.1:{FirstInstancePort + number - 1}");
        lock (Instances)
            Instances[$"i{number}"] = instance;
        return instance;
    }

    /// <summary>Waits until HAProxy's health checks see <paramref name="up"/> up and <paramref name="down"/> down.</summary>
    public Task WaitForServersAsync(string[] up, string[]? down = null) =>
        Eventually.True(async () =>
        {
            var states = await Proxy.ServerStatesAsync();
            return up.All(s => states.GetValueOrDefault(s, -1) == 2) && (down ?? []).All(s => states.GetValueOrDefault(s, -1) == 0);
        }, $"HAProxy to see {string.Join(",", up)} up and {string.Join(",", down ?? [])} down", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(200));

    public async Task<TestContainer[]> RunCountersAsync(int count, string purpose, string interval = "0.1") =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
            TestContainer.RunAsync(Endpoint, purpose, $"i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep {interval}; done")));

    /// <summary>The log streams an instance holds (its /admin/streams) and its sessions.</summary>
    public static async Task<(int Streams, int Sessions, long ResolveCalls)> StreamsAsync(ServiceProcess instance)
    {
        var admin = await instance.AdminGetAsync("/admin/streams");
        return (admin.GetProperty("streams").GetArrayLength(), admin.GetProperty("sessions").GetInt32(),
            admin.GetProperty("resolve").GetProperty("source_calls").GetInt64());
    }

    public static async Task<JsonElement> AdminAsync(ServiceProcess instance) => await instance.AdminGetAsync("/admin/streams");

    /// <summary>
    /// The log reads an instance holds open on the daemon, counted from outside by its pid: every daemon connection
    /// but the one watching events for the resolve cache (there once the instance has resolved a name).
    /// </summary>
    public async Task<int> DaemonLogConnectionsAsync(ServiceProcess instance)
    {
        var total = await EngineScript.ConnectionsAsync(TestEngines.SocketPath(Endpoint), instance.Pid);
        var (_, _, resolves) = await StreamsAsync(instance);
        return total - (resolves > 0 ? 1 : 0);
    }

    public async Task<int> TotalDaemonLogConnectionsAsync(IEnumerable<ServiceProcess> instances)
    {
        var total = 0;
        foreach (var instance in instances)
            total += await DaemonLogConnectionsAsync(instance);
        return total;
    }

    /// <summary>HAProxy's own notices (servers going down and up), for the test output.</summary>
    public string ProxyNotices => Proxy is null ? "" : string.Join("\n", Proxy.Log.Split('\n').Where(l => l.StartsWith('[') && l.Contains("Server instances/", StringComparison.Ordinal)));

    public async ValueTask DisposeAsync()
    {
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        foreach (var instance in Instances.Values)
        {
            try
            {
                // A stopped process cannot die until it runs again.
                Signals.Send(instance.Pid, Signals.Continue);
            }
            catch (InvalidOperationException)
            {
            }
            await instance.DisposeAsync();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
