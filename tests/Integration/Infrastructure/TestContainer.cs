namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>A uniquely named busybox container running a shell script; removed (forced) on dispose.</summary>
public sealed class TestContainer : IAsyncDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private TestContainer(string endpoint, string name, string id)
    {
        Endpoint = endpoint;
        Name = name;
        Id = id;
    }

    public string Endpoint { get; }
    public string Name { get; }
    public string Id { get; }

    /// <param name="options">Extra <c>docker run</c> options, such as <c>-t</c> or <c>--restart always</c>.</param>
    public static Task<TestContainer> RunAsync(string endpoint, string purpose, string script, params string[] options) =>
        RunNamedAsync(endpoint, DockerCli.UniqueName(purpose), script, options);

    /// <summary>A container of a name the test chose (the same name on two engines, say).</summary>
    public static async Task<TestContainer> RunNamedAsync(string endpoint, string name, string script, params string[] options)
    {
        var id = await DockerCli.RunAsync(endpoint, ["run", "-d", "--name", name, "--network", "none", .. options, DockerCli.Image, "sh", "-c", script]);
        return new TestContainer(endpoint, name, id.Trim());
    }

    /// <summary>Waits until the container's process has exited (<c>docker wait</c>).</summary>
    public Task WaitForExitAsync() => ProcessRunner.RunCheckedAsync("/usr/bin/docker", ["-H", Endpoint, "wait", Name], ExitTimeout);

    public async ValueTask DisposeAsync() => await DockerCli.TryRunAsync(Endpoint, "rm", "-f", Name);
}
