using LogsMigration.Docker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LogsMigration.Tests.Integration;

/// <summary>Start-up validation of the <c>Docker</c> section. No engine needed.</summary>
public sealed class DockerOptionsValidatorTests
{
    [Fact]
    public void Validate_WellFormedHosts_Succeeds()
    {
        var options = Options(("edge-1.prod", "tcp://10.0.0.5:2376", "1.41"), ("local", "unix:///var/run/docker.sock", null));

        Assert.True(new DockerOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("-leading-dash", "unix:///var/run/docker.sock", null, "host ids are 1 to 64")]
    [InlineData("has space", "unix:///var/run/docker.sock", null, "host ids are 1 to 64")]
    [InlineData("h", "ssh://user@host", null, "must be an absolute URI with scheme unix, tcp, http, https")]
    [InlineData("h", "relative/path.sock", null, "must be an absolute URI")]
    [InlineData("h", "unix:///var/run/docker.sock", "1.40", "older than 1.41")]
    [InlineData("h", "unix:///var/run/docker.sock", "latest", "must be MAJOR.MINOR")]
    [InlineData("h", "unix:///var/run/docker.sock", "1.41.2", "must be MAJOR.MINOR")]
    public void Validate_BadHost_FailsNamingTheSetting(string id, string endpoint, string? apiVersion, string expected)
    {
        var result = new DockerOptionsValidator().Validate(null, Options((id, endpoint, apiVersion)));

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains($"Docker:Hosts:{id}", StringComparison.Ordinal) && f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_DefaultHostNotConfiguredAndBadTimings_Fails()
    {
        var options = Options(("a", "unix:///a.sock", null));
        options.DefaultHost = "b";
        options.RestartGrace = TimeSpan.FromSeconds(-1);
        options.ServiceMergeWindow = TimeSpan.FromMinutes(1);

        var result = new DockerOptionsValidator().Validate(null, options);

        Assert.Equal(3, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("Docker:DefaultHost 'b'", StringComparison.Ordinal));
    }

    [Fact]
    public void AddDockerLogSources_NoHostsConfigured_OneLocalHost()
    {
        var configuration = new ConfigurationBuilder().Build();
        using var provider = new ServiceCollection().AddLogging().AddDockerLogSources(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<DockerOptions>>().Value;

        var local = Assert.Single(options.Hosts);
        Assert.Equal(DockerOptions.LocalHostId, local.Key);
        Assert.Equal(Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } set ? set : DockerOptions.DefaultEndpoint, local.Value.Endpoint);
        Assert.Equal(DockerOptions.LocalHostId, provider.GetRequiredService<DockerHosts>().DefaultHostId);
    }

    [Fact]
    public void AddDockerLogSources_InvalidSection_FailsAtStartWithTheSettingsName()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Docker:DefaultHost"] = "main",
            ["Docker:Hosts:main:Endpoint"] = "ftp://nowhere",
        }).Build();
        using var provider = new ServiceCollection().AddLogging().AddDockerLogSources(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DockerOptions>>().Value);

        Assert.Contains("Docker:Hosts:main:Endpoint 'ftp://nowhere'", ex.Message, StringComparison.Ordinal);
    }

    private static DockerOptions Options(params (string Id, string Endpoint, string? ApiVersion)[] hosts)
    {
        var options = new DockerOptions { DefaultHost = hosts[0].Id };
        foreach (var (id, endpoint, apiVersion) in hosts)
            options.Hosts[id] = new DockerHostOptions { Endpoint = endpoint, ApiVersion = apiVersion };
        return options;
    }
}
