using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// What the query tests share: the service as a process on the main engine with a replay buffer small enough that
/// history must be read from Docker, services whose replicas know their slot, the test's word to one replica, and
/// waiting until Docker itself has a line.
/// </summary>
internal static class QueryTestBed
{
    /// <summary>
    /// The service on main with a replay buffer of <paramref name="replayEntries"/> lines (and a tail up to it), scan
    /// windows from 1 s, and <paramref name="extra"/> settings.
    /// </summary>
    public static Task<ServiceProcess> StartAsync(int replayEntries, IDictionary<string, string>? extra = null)
    {
        var entries = replayEntries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string>
        {
            ["Pipeline:ReplayEntries"] = entries,
            ["Streaming:MaxTail"] = entries,
            ["Streaming:DefaultTail"] = entries,
            ["Query:ScanInitialWindow"] = "00:00:01",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        return ServiceProcess.StartOnAsync(TestEngines.Endpoint(TestEngines.Main), settings);
    }

    /// <summary>A 2-replica service on the main manager whose replicas know their slot (<c>$SLOT</c>), placed by <paramref name="placement"/>.</summary>
    public static async Task<TestService> CreateSlottedServiceAsync(string purpose, string script, params string[] placement)
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var name = DockerCli.UniqueName(purpose);
        await DockerCli.RunAsync(endpoint, ["service", "create", "-d", "--quiet", "--name", name, "--replicas", "2", "--env", "SLOT={{.Task.Slot}}", .. placement,
            "--no-resolve-image", "--stop-grace-period", "1s", DockerCli.Image, "sh", "-c", script]);
        return await TestService.FromNameAsync(endpoint, name);
    }

    /// <summary>Waits until Docker itself gives a line of the container containing <paramref name="text"/>.</summary>
    public static Task ContainerLoggedAsync(TestContainer container, string text) =>
        Eventually.True(async () => (await DockerCli.RunAsync(container.Endpoint, "logs", container.Name)).Contains(text, StringComparison.Ordinal),
            $"Docker to have '{text}' of {container.Name}", interval: TimeSpan.FromMilliseconds(250));

    /// <summary>
    /// Runs <paramref name="script"/> in the container of replica <paramref name="slot"/> once it runs (its name is
    /// <c>service.slot.task</c>), on whichever of <paramref name="nodes"/> (engine endpoints) it runs on.
    /// </summary>
    public static async Task ExecAsync(string[] nodes, string service, int slot, string script)
    {
        var (node, container) = ("", "");
        await Eventually.True(async () =>
        {
            foreach (var endpoint in nodes)
            {
                var names = await DockerCli.RunAsync(endpoint, "ps", "--filter", $"label=com.docker.swarm.service.name={service}", "--format", "{{.Names}}");
                container = names.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(n => n.StartsWith($"{service}.{slot}.", StringComparison.Ordinal)) ?? "";
                node = endpoint;
                if (container.Length > 0)
                    return true;
            }
            return false;
        }, $"replica {slot} of {service} to run", interval: TimeSpan.FromMilliseconds(250));
        await DockerCli.RunAsync(node, "exec", container, "sh", "-c", script);
    }

    /// <summary>The same, for a service whose replicas run on the manager (<c>--constraint node.role==manager</c>).</summary>
    public static Task ExecAsync(string manager, string service, int slot, string script) => ExecAsync([manager], service, slot, script);

    /// <summary>Waits until Docker itself gives a line of the service containing <paramref name="text"/>.</summary>
    public static Task LoggedAsync(string endpoint, string service, string text) =>
        Eventually.True(async () => (await DockerCli.RunAsync(endpoint, "service", "logs", "--raw", service)).Contains(text, StringComparison.Ordinal),
            $"Docker to have '{text}' of {service}", interval: TimeSpan.FromMilliseconds(100));
}
