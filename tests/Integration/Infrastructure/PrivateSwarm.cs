using System.Net;
using System.Net.Sockets;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>
/// A swarm of the tests' own, for tests that stop its engines: two managers (<see cref="Manager"/>, which the tests
/// read, and <see cref="SecondManager"/>) and one <see cref="Worker"/>. It runs beside the suite's swarm (whose
/// manager holds 127.0.0.1:2377 and the gossip port 127.0.0.1:7946) on loopback addresses and a cluster port that
/// are free (<c>LOGS_ENGINE_SWARM_ADDR</c> / <c>LOGS_ENGINE_SWARM_PORT</c> of the engine script). Engine names get
/// <c>LOGS_TEST_ENGINE_PREFIX</c>, so two runs of the suite on one machine do not share engines.
/// </summary>
public sealed class PrivateSwarm : IAsyncLifetime
{
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromMinutes(2);
    private static readonly string Prefix = Environment.GetEnvironmentVariable("LOGS_TEST_ENGINE_PREFIX") ?? "";
    private static readonly string EngineRoot = Environment.GetEnvironmentVariable("LOGS_ENGINE_ROOT") ?? "/tmp/logsmigration-engine";

    public string Manager { get; } = Prefix + "swarm-m1";
    public string SecondManager { get; } = Prefix + "swarm-m2";
    public string Worker { get; } = Prefix + "swarm-w";

    public string ManagerEndpoint { get; private set; } = "";
    public string SecondManagerEndpoint { get; private set; } = "";
    public string WorkerEndpoint { get; private set; } = "";

    private string _address = "";
    private int _port;

    public async Task InitializeAsync()
    {
        // The engines of scripts/test.sh must be there: they are what says dockerd is installed and set up here.
        TestEngines.Endpoint(TestEngines.Main);
        // A run that was interrupted leaves its swarm behind: stopping leaves it, so every run starts from none.
        foreach (var engine in new[] { Worker, SecondManager, Manager })
            await EngineScript.StopAsync(engine);
        ManagerEndpoint = await EngineScript.StartAsync(Manager);
        SecondManagerEndpoint = await EngineScript.StartAsync(SecondManager);
        WorkerEndpoint = await EngineScript.StartAsync(Worker);
        foreach (var engine in new[] { Manager, SecondManager, Worker })
            await EngineScript.ImportImageAsync(engine);

        _port = FreePort();
        _address = FreeLoopbackAddress(_port, exclude: null);
        await ScriptAsync("swarm", Manager);
        var managerAddress = FreeLoopbackAddress(_port, exclude: _address);
        var token = (await DockerCli.RunAsync(ManagerEndpoint, "swarm", "join-token", "-q", "manager")).Trim();
        await DockerCli.RunAsync(SecondManagerEndpoint, "swarm", "join", "--token", token,
            "--listen-addr", $"{managerAddress}:{_port}", "--advertise-addr", managerAddress, $"{_address}:{_port}");
        await ScriptAsync("join-worker", Manager, Worker);
    }

    public async Task DisposeAsync()
    {
        foreach (var engine in new[] { Worker, SecondManager, Manager })
            await EngineScript.StopAsync(engine);
    }

    /// <summary>The node id of an engine of this swarm.</summary>
    public async Task<string> NodeIdAsync(string endpoint) =>
        (await DockerCli.RunAsync(endpoint, "info", "--format", "{{.Swarm.NodeID}}")).Trim();

    /// <summary>
    /// Stops an engine's daemon as a crash or a host reboot does, without leaving the swarm (the script's
    /// <c>stop</c> leaves it first, which would take the node out of the swarm for good): SIGTERM to its pid.
    /// </summary>
    public async Task KillAsync(string engine)
    {
        var pidFile = Path.Combine(EngineRoot, engine, "dockerd.pid");
        var pid = (await File.ReadAllTextAsync(pidFile)).Trim();
        Assert.Equal("dockerd", (await File.ReadAllTextAsync($"/proc/{pid}/comm")).Trim());
        await ProcessRunner.RunCheckedAsync("kill", ["-TERM", pid]);
        // Not our child: watch /proc until init has reaped it.
        await Eventually.True(() => !File.Exists($"/proc/{pid}/comm"), $"dockerd {pid} of {engine} to exit", EngineTimeout);
    }

    /// <summary>Starts an engine stopped by <see cref="KillAsync"/>; it comes back as the node it was.</summary>
    public Task StartAsync(string engine) => EngineScript.StartAsync(engine);

    private Task ScriptAsync(params string[] arguments) =>
        ProcessRunner.RunCheckedAsync("env", [$"LOGS_ENGINE_SWARM_ADDR={_address}", $"LOGS_ENGINE_SWARM_PORT={_port}", "bash",
            Path.Combine(EngineScript.RepositoryRoot, "scripts", "docker-engine.sh"), .. arguments], EngineTimeout);

    /// <summary>A loopback address (127.0.0.100 and up) where both the cluster port and the gossip port are free.</summary>
    private static string FreeLoopbackAddress(int port, string? exclude)
    {
        for (var last = 100; last < 250; last++)
        {
            var address = $"127.0.0.{last}";
            if (address != exclude && CanBind(address, port) && CanBind(address, 7946))
                return address;
        }
        throw new InvalidOperationException("No free loopback address for a private swarm.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool CanBind(string address, int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Parse(address), port);
            listener.Start();
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Parse(address), port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
