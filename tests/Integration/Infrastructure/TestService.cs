namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>A uniquely named Swarm service on the <c>main</c> manager; removed on dispose if the test has not.</summary>
public sealed class TestService : IAsyncDisposable
{
    private TestService(string endpoint, string name, string id)
    {
        Endpoint = endpoint;
        Name = name;
        Id = id;
    }

    public string Endpoint { get; }
    public string Name { get; }
    public string Id { get; }

    public static async Task<TestService> CreateAsync(string endpoint, string purpose, int replicas, string script)
    {
        var name = DockerCli.UniqueName(purpose);
        // -d: do not wait for convergence (tests wait for what they need); the image is local, so no registry lookup;
        // busybox sh ignores SIGTERM, so a short stop grace lets the tasks of a removed service go quickly.
        await DockerCli.RunAsync(endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--no-resolve-image", "--stop-grace-period", "1s", DockerCli.Image, "sh", "-c", script);
        return await FromNameAsync(endpoint, name);
    }

    /// <summary>A service the test created with options of its own (constraints, say).</summary>
    public static async Task<TestService> FromNameAsync(string endpoint, string name)
    {
        var id = await DockerCli.RunAsync(endpoint, "service", "inspect", "--format", "{{.ID}}", name);
        return new TestService(endpoint, name, id.Trim());
    }

    /// <summary>Task id → slot of the tasks the swarm wants running.</summary>
    public async Task<Dictionary<string, int>> RunningTasksAsync()
    {
        var output = await DockerCli.RunAsync(Endpoint, "service", "ps", "--no-trunc", "--filter", "desired-state=running",
            "--format", "{{.ID}} {{.Name}} {{.CurrentState}}", Name);
        var tasks = new Dictionary<string, int>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length >= 3 && parts[2] == "Running")
                tasks[parts[0]] = int.Parse(parts[1][(parts[1].LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return tasks;
    }

    public Task ScaleAsync(int replicas) =>
        DockerCli.RunAsync(Endpoint, "service", "scale", "-d", $"{Name}={replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    public Task RemoveAsync() => DockerCli.RunAsync(Endpoint, "service", "rm", Name);

    public async ValueTask DisposeAsync() => await DockerCli.TryRunAsync(Endpoint, "service", "rm", Name);
}
