using LogsMigration.Docker;
using LogsMigration.Docker.Containers;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogsMigration.Tests.Integration;

public sealed class DockerHostsTests
{
    [Fact]
    public async Task PingAsync_RunningEngine_Answers()
    {
        using var hosts = TestEngines.Hosts(TestEngines.Main, TestEngines.Second);

        await hosts.PingAsync(TestEngines.Main, CancellationToken.None);
        await hosts.PingAsync(TestEngines.Second, CancellationToken.None);

        Assert.Equal(TestEngines.Main, hosts.DefaultHostId);
        Assert.Equal([TestEngines.Main, TestEngines.Second], hosts.HostIds.Order());
        Assert.True(hosts.Contains(TestEngines.Second));
        Assert.Same(hosts.GetClient(TestEngines.Main), hosts.GetClient(TestEngines.Main));
    }

    [Fact]
    public async Task PingAsync_ApiVersionPinnedTo141_Answers()
    {
        var options = TestEngines.Options(TestEngines.Main);
        options.Hosts[TestEngines.Main].ApiVersion = "1.41";
        using var hosts = new DockerHosts(Microsoft.Extensions.Options.Options.Create(options));

        await hosts.PingAsync(TestEngines.Main, CancellationToken.None);
    }

    [Fact]
    public async Task PingAndResolveAsync_NoDaemonOnTheSocket_Unavailable()
    {
        TestEngines.Endpoint(TestEngines.Main);
        var options = new DockerOptions { DefaultHost = "gone" };
        options.Hosts["gone"] = new DockerHostOptions { Endpoint = $"unix:///tmp/{Guid.NewGuid():N}/docker.sock" };
        using var hosts = new DockerHosts(Microsoft.Extensions.Options.Options.Create(options));

        var source = new ContainerLogSource(hosts, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<ContainerLogSource>.Instance);

        var ping = await Assert.ThrowsAsync<LogSourceException>(() => hosts.PingAsync("gone", CancellationToken.None));
        var resolve = await Assert.ThrowsAsync<LogSourceException>(() => source.ResolveAsync("gone", "web", CancellationToken.None).AsTask());

        Assert.Equal(LogSourceErrorKind.Unavailable, ping.Kind);
        Assert.StartsWith("Docker host 'gone' is not answering: ", ping.Message, StringComparison.Ordinal);
        Assert.Equal((LogSourceErrorKind.Unavailable, ping.Message), (resolve.Kind, resolve.Message));
        Assert.True(resolve.IsTransient);
    }

    [Fact]
    public void GetClient_UnknownHost_NotFound()
    {
        using var hosts = TestEngines.Hosts(TestEngines.Main);

        var ex = Assert.Throws<LogSourceException>(() => hosts.GetClient("elsewhere"));

        Assert.Equal((LogSourceErrorKind.NotFound, "Unknown Docker host 'elsewhere'."), (ex.Kind, ex.Message));
        Assert.False(hosts.Contains("elsewhere"));
    }
}
