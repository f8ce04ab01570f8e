using LogsMigration.Docker;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>
/// The real Docker engines <c>scripts/test.sh</c> starts and announces in <c>LOGS_TEST_DOCKER_*</c>: <c>main</c> (a
/// Swarm manager), <c>worker</c> (a worker of main's swarm) and <c>second</c> (outside any swarm). A missing variable
/// fails the test: these tests never pass or skip without an engine.
/// </summary>
public static class TestEngines
{
    public const string Main = "main";
    public const string Worker = "worker";
    public const string Second = "second";

    public static string Endpoint(string engine)
    {
        var variable = $"LOGS_TEST_DOCKER_{engine.ToUpperInvariant()}";
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
            Assert.Fail($"{variable} is not set. The integration tests run against the real Docker engines that scripts/test.sh starts: run `bash scripts/test.sh`.");
        return value;
    }

    /// <summary>The socket file of a <c>unix://</c> endpoint, as <c>docker-engine.sh connections</c> wants it.</summary>
    public static string SocketPath(string endpoint) => new Uri(endpoint).LocalPath;

    /// <summary>Options naming each engine by its own name, the first one the default.</summary>
    public static DockerOptions Options(params string[] engines)
    {
        var options = new DockerOptions { DefaultHost = engines[0] };
        foreach (var engine in engines)
            options.Hosts[engine] = new DockerHostOptions { Endpoint = Endpoint(engine) };
        return options;
    }

    public static DockerHosts Hosts(params string[] engines) => new(Microsoft.Extensions.Options.Options.Create(Options(engines)));
}
