using System.Text;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>
/// A uniquely named Swarm stack on the <c>main</c> manager, deployed with the real <c>docker stack deploy</c> from a
/// compose file; removed on dispose. Its services use the host network: the private engines share one kernel, where a
/// stack's default overlay network fails on the worker ("error creating vxlan interface: file exists").
/// </summary>
public sealed class TestStack : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-stack-").FullName;
    private readonly Dictionary<string, (int Replicas, string Script)> _services = new(StringComparer.Ordinal);

    private TestStack(string endpoint, string name)
    {
        Endpoint = endpoint;
        Name = name;
    }

    public string Endpoint { get; }
    public string Name { get; }

    /// <summary>The Swarm name of one of its services (<c>&lt;stack&gt;_&lt;service&gt;</c>).</summary>
    public string ServiceName(string service) => $"{Name}_{service}";

    public static async Task<TestStack> DeployAsync(string endpoint, string purpose, IReadOnlyDictionary<string, (int Replicas, string Script)> services)
    {
        var stack = new TestStack(endpoint, DockerCli.UniqueName(purpose));
        foreach (var (name, spec) in services)
            stack._services[name] = spec;
        await stack.DeployAsync();
        return stack;
    }

    /// <summary>Deploys the stack again with one more service, as an operator adding a service to the compose file does.</summary>
    public Task AddServiceAsync(string service, int replicas, string script)
    {
        _services[service] = (replicas, script);
        return DeployAsync();
    }

    public Task RemoveServiceAsync(string service) => DockerCli.RunAsync(Endpoint, "service", "rm", ServiceName(service));

    /// <summary>Task id → (service, slot) of the tasks the swarm wants running, of every service of the stack.</summary>
    public async Task<Dictionary<string, (string Service, int Slot)>> RunningTasksAsync()
    {
        var output = await DockerCli.RunAsync(Endpoint, "stack", "ps", "--no-trunc", "--filter", "desired-state=running",
            "--format", "{{.ID}} {{.Name}} {{.CurrentState}}", Name);
        var tasks = new Dictionary<string, (string, int)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length < 3 || parts[2] != "Running")
                continue;
            var dot = parts[1].LastIndexOf('.');
            tasks[parts[0]] = (parts[1][..dot], int.Parse(parts[1][(dot + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }
        return tasks;
    }

    public async ValueTask DisposeAsync()
    {
        await DockerCli.TryRunAsync(Endpoint, "stack", "rm", Name);
        Directory.Delete(_directory, recursive: true);
    }

    private async Task DeployAsync()
    {
        var file = Path.Combine(_directory, "stack.yml");
        await File.WriteAllTextAsync(file, ComposeFile());
        // The image is local, so no registry lookup; busybox sh ignores SIGTERM, so a short stop grace lets removed tasks go quickly.
        await DockerCli.RunAsync(Endpoint, "stack", "deploy", "--resolve-image", "never", "-c", file, Name);
    }

    private string ComposeFile()
    {
        var yaml = new StringBuilder("version: \"3.8\"\nservices:\n");
        foreach (var (name, (replicas, script)) in _services)
        {
            yaml.Append($"  {name}:\n    image: {DockerCli.Image}\n");
            // $$ is a literal $ in a compose file.
            yaml.Append($"    command: [\"sh\", \"-c\", {System.Text.Json.JsonSerializer.Serialize(script.Replace("$", "$$", StringComparison.Ordinal))}]\n");
            yaml.Append($"    stop_grace_period: 1s\n    networks: [hostnet]\n    deploy:\n      replicas: {replicas}\n");
        }
        yaml.Append("networks:\n  hostnet:\n    external: true\n    name: host\n");
        return yaml.ToString();
    }
}
