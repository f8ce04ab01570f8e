using System.Net;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Listing;

/// <summary>
/// The listings against the real engines, compared with the docker CLI. Other tests create and remove containers and
/// services on the same engines at the same time, so each comparison takes the CLI's view before and after the
/// service's: what both CLI views hold must be listed, and nothing may be listed that neither holds.
/// </summary>
public sealed class ListingTests(ListingService api) : IClassFixture<ListingService>
{
    private static readonly string Main = TestEngines.Endpoint(TestEngines.Main);
    private static readonly string Second = TestEngines.Endpoint(TestEngines.Second);

    [Fact]
    public async Task Hosts_GiveEachEnginesVersionAndSwarmRole_AndAHostThatIsDownAsUnreachable()
    {
        var (body, response) = await api.GetAsync("/api/v1/hosts");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        var hosts = body.EnumerateArray().ToDictionary(h => h.GetProperty("id").GetString()!);
        Assert.Equal(["down", "main", "second", "worker"], hosts.Keys.Order());
        var version = (await DockerCli.RunAsync(Main, "version", "--format", "{{.Server.Version}}")).Trim();
        foreach (var (id, role) in new[] { ("main", "manager"), ("worker", "worker"), ("second", "none") })
        {
            Assert.True(hosts[id].GetProperty("reachable").GetBoolean(), id);
            Assert.Equal(version, hosts[id].GetProperty("docker_version").GetString());
            Assert.Equal(role, hosts[id].GetProperty("swarm_role").GetString());
            Assert.False(hosts[id].TryGetProperty("error", out _), id);
        }
        Assert.False(hosts["down"].GetProperty("reachable").GetBoolean());
        Assert.False(string.IsNullOrEmpty(hosts["down"].GetProperty("error").GetString()));

        var (down, downResponse) = await api.GetAsync("/api/v1/hosts/down/containers");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, downResponse.StatusCode);
        Assert.Equal("upstream_unavailable", down.GetProperty("error").GetProperty("code").GetString());
        var (unknown, unknownResponse) = await api.GetAsync("/api/v1/hosts/nope/services");
        Assert.Equal(HttpStatusCode.NotFound, unknownResponse.StatusCode);
        Assert.Equal("not_found", unknown.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Containers_MatchDockerPsA_WithStateImageStartAndLabels()
    {
        var project = DockerCli.UniqueName("proj");
        var running = DockerCli.UniqueName("running");
        var exited = DockerCli.UniqueName("exited");
        try
        {
            var runningId = (await DockerCli.RunAsync(Main, "run", "-d", "--name", running,
                "--label", $"com.docker.compose.project={project}", "--label", "com.docker.compose.service=web",
                DockerCli.Image, "sleep", "300")).Trim();
            var exitedId = (await DockerCli.RunAsync(Main, "create", "--name", exited, DockerCli.Image, "true")).Trim();

            var before = await PsAsync(Main);
            var (body, response) = await api.GetAsync("/api/v1/hosts/main/containers");
            var after = await PsAsync(Main);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
            var listed = body.EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!);

            foreach (var id in before.Keys.Intersect(after.Keys))
            {
                Assert.True(listed.ContainsKey(id), $"docker ps -a lists {before[id]}, the service does not");
                var row = listed[id];
                Assert.Equal(before[id], $"{row.GetProperty("name").GetString()}|{row.GetProperty("image").GetString()}");
            }
            foreach (var id in listed.Keys)
                Assert.True(before.ContainsKey(id) || after.ContainsKey(id), $"the service lists {id}, docker ps -a does not");

            var mine = listed[runningId];
            Assert.Equal("running", mine.GetProperty("state").GetString());
            Assert.Equal(project, mine.GetProperty("compose_project").GetString());
            Assert.Equal("web", mine.GetProperty("service").GetString());
            Assert.Equal(JsonValueKind.Null, mine.GetProperty("stack").ValueKind);
            var startedAt = (await DockerCli.RunAsync(Main, "inspect", "--format", "{{.State.StartedAt}}", runningId)).Trim();
            Assert.Equal(DateTimeOffset.Parse(startedAt), mine.GetProperty("started_at").GetDateTimeOffset());

            var never = listed[exitedId];
            Assert.Equal("created", never.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, never.GetProperty("started_at").ValueKind);
        }
        finally
        {
            await DockerCli.TryRunAsync(Main, "rm", "-f", running, exited);
        }
    }

    [Fact]
    public async Task ServicesAndStacks_MatchServiceLsAndStackLs_ForADeployedStack()
    {
        var stack = DockerCli.UniqueName("stack");
        var composeFile = Path.Combine(Path.GetTempPath(), $"{stack}.yml");
        await File.WriteAllTextAsync(composeFile, $"""
            version: "3.8"
            services:
              web:
                image: {DockerCli.Image}
                command: ["sleep", "3600"]
              api:
                image: {DockerCli.Image}
                command: ["sleep", "3600"]
                deploy:
                  replicas: 2
            """);
        try
        {
            await DockerCli.RunAsync(Main, "stack", "deploy", "--resolve-image", "never", "-c", composeFile, stack);
            // Converged: the CLI and the service both see every replica running.
            await Eventually.True(async () =>
                (await ServiceLsAsync()).Where(s => s.Value.Name.StartsWith(stack, StringComparison.Ordinal)).Select(s => s.Value.Replicas).Order()
                    .SequenceEqual(["1/1", "2/2"]), $"stack {stack} running", interval: TimeSpan.FromMilliseconds(500));

            var before = await ServiceLsAsync();
            var (body, response) = await api.GetAsync("/api/v1/hosts/main/services");
            var after = await ServiceLsAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
            Assert.Equal("manager", response.Headers.GetValues("X-Swarm-Role").Single());
            // docker service ls shows the first 12 characters of each id.
            var listed = body.EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()![..12]);
            foreach (var id in before.Keys.Intersect(after.Keys))
            {
                Assert.True(listed.ContainsKey(id), $"docker service ls lists {before[id].Name}, the service does not");
                Assert.Equal(before[id].Name, listed[id].GetProperty("name").GetString());
            }
            foreach (var id in listed.Keys)
                Assert.True(before.ContainsKey(id) || after.ContainsKey(id), $"the service lists service {id}, docker service ls does not");
            var stackServices = before.Where(s => s.Value.Name.StartsWith(stack, StringComparison.Ordinal)).ToList();
            Assert.Equal(2, stackServices.Count);
            foreach (var (id, cli) in stackServices)
            {
                var row = listed[id];
                Assert.Equal(cli.Replicas, $"{row.GetProperty("replicas_running").GetInt64()}/{row.GetProperty("replicas_desired").GetInt64()}");
                Assert.Equal(stack, row.GetProperty("stack").GetString());
            }

            var stacksBefore = await StackLsAsync();
            var (stacks, stacksResponse) = await api.GetAsync("/api/v1/hosts/main/stacks");
            var stacksAfter = await StackLsAsync();
            Assert.Equal("manager", stacksResponse.Headers.GetValues("X-Swarm-Role").Single());
            var swarmStacks = stacks.EnumerateArray().Where(s => s.GetProperty("kind").GetString() == "swarm")
                .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("services").EnumerateArray().Select(n => n.GetString()!).ToList());
            foreach (var name in stacksBefore.Keys.Intersect(stacksAfter.Keys))
                Assert.True(swarmStacks.ContainsKey(name), $"docker stack ls lists {name}, the service does not");
            foreach (var name in swarmStacks.Keys)
                Assert.True(stacksBefore.ContainsKey(name) || stacksAfter.ContainsKey(name), $"the service lists stack {name}, docker stack ls does not");
            Assert.Equal([$"{stack}_api", $"{stack}_web"], swarmStacks[stack]);
            Assert.Equal(stacksBefore[stack], swarmStacks[stack].Count);
        }
        finally
        {
            await DockerCli.TryRunAsync(Main, "stack", "rm", stack);
            File.Delete(composeFile);
        }
    }

    [Fact]
    public async Task NonManagers_ListNoServices_AndSayWhy_ButStillTheirComposeProjects()
    {
        var project = DockerCli.UniqueName("proj");
        var container = DockerCli.UniqueName("compose");
        try
        {
            await DockerCli.RunAsync(Second, "run", "-d", "--name", container,
                "--label", $"com.docker.compose.project={project}", "--label", "com.docker.compose.service=db",
                DockerCli.Image, "sleep", "300");

            var (workerServices, workerResponse) = await api.GetAsync("/api/v1/hosts/worker/services");
            Assert.True(workerResponse.StatusCode == HttpStatusCode.OK, workerServices.ToString());
            Assert.Empty(workerServices.EnumerateArray());
            Assert.Equal("worker", workerResponse.Headers.GetValues("X-Swarm-Role").Single());

            var (secondServices, secondResponse) = await api.GetAsync("/api/v1/hosts/second/services");
            Assert.Empty(secondServices.EnumerateArray());
            Assert.Equal("none", secondResponse.Headers.GetValues("X-Swarm-Role").Single());

            var (stacks, stacksResponse) = await api.GetAsync("/api/v1/hosts/second/stacks");
            Assert.Equal("none", stacksResponse.Headers.GetValues("X-Swarm-Role").Single());
            var mine = Assert.Single(stacks.EnumerateArray(), s => s.GetProperty("name").GetString() == project);
            Assert.Equal("compose", mine.GetProperty("kind").GetString());
            Assert.Equal(["db"], mine.GetProperty("services").EnumerateArray().Select(s => s.GetString()));
            Assert.DoesNotContain(stacks.EnumerateArray(), s => s.GetProperty("kind").GetString() == "swarm");
        }
        finally
        {
            await DockerCli.TryRunAsync(Second, "rm", "-f", container);
        }
    }

    /// <summary><c>docker ps -a</c>: full id → "name|image".</summary>
    private static async Task<Dictionary<string, string>> PsAsync(string endpoint) =>
        Lines(await DockerCli.RunAsync(endpoint, "ps", "-a", "--no-trunc", "--format", "{{.ID}}|{{.Names}}|{{.Image}}"))
            .ToDictionary(l => l[..l.IndexOf('|')], l => l[(l.IndexOf('|') + 1)..]);

    /// <summary><c>docker service ls</c>: short id (its first 12 characters) → (name, "running/desired").</summary>
    private static async Task<Dictionary<string, (string Name, string Replicas)>> ServiceLsAsync() =>
        Lines(await DockerCli.RunAsync(Main, "service", "ls", "--format", "{{.ID}}|{{.Name}}|{{.Replicas}}"))
            .Select(l => l.Split('|'))
            .ToDictionary(p => p[0], p => (p[1], p[2]));

    /// <summary><c>docker stack ls</c>: name → number of services.</summary>
    private static async Task<Dictionary<string, int>> StackLsAsync() =>
        Lines(await DockerCli.RunAsync(Main, "stack", "ls", "--format", "{{.Name}}|{{.Services}}"))
            .ToDictionary(l => l[..l.IndexOf('|')], l => int.Parse(l[(l.IndexOf('|') + 1)..]));

    private static IEnumerable<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
