using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using LogsMigration.Docker;
using LogsMigration.Docker.HostLogs;
using LogsMigration.Tests.Unit.Api;

namespace LogsMigration.Tests.Unit.HostLogs;

public sealed class HostLogOptionsValidatorTests
{
    private static DockerOptions Options(HostLogLocation? systemLog = null, HostLogOptions? hostLogs = null)
    {
        var options = new DockerOptions { DefaultHost = "h", HostLogs = hostLogs ?? new HostLogOptions() };
        options.Hosts["h"] = new DockerHostOptions { Endpoint = "unix:///var/run/docker.sock", SystemLog = systemLog };
        return options;
    }

    [Fact]
    public void Validate_Defaults_Succeed() =>
        Assert.True(new DockerOptionsValidator().Validate(null, Options(new HostLogLocation { JournalDirectory = "/var/log/journal" })).Succeeded);

    [Theory]
    [InlineData(null, null, "Docker:Hosts:h:SystemLog: set exactly one of JournalDirectory, JournalFile and File (found 0).")]
    [InlineData("/var/log/journal", "/var/log/syslog", "Docker:Hosts:h:SystemLog: set exactly one of JournalDirectory, JournalFile and File (found 2).")]
    [InlineData("relative/journal", null, "Docker:Hosts:h:SystemLog:JournalDirectory 'relative/journal' must be an absolute path.")]
    public void Validate_BadLocation_FailsNamingTheSetting(string? journal, string? file, string expected)
    {
        var result = new DockerOptionsValidator().Validate(null, Options(new HostLogLocation { JournalDirectory = journal, File = file }));

        Assert.Contains(expected, result.Failures!);
    }

    [Theory]
    [InlineData("two words")]
    [InlineData("tab\there")]
    public void Validate_ReaderOwnerWithSpaces_FailsNamingTheSetting(string owner)
    {
        var result = new DockerOptionsValidator().Validate(null, Options(new HostLogLocation { JournalDirectory = "/var/log/journal" }, new HostLogOptions { ReaderOwner = owner }));

        Assert.Contains(result.Failures!, f => f.StartsWith("Docker:HostLogs:ReaderOwner", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_UnitOnAFileAndImageWithoutContainerAccess_Fail()
    {
        var result = new DockerOptionsValidator().Validate(null, Options(new HostLogLocation { File = "/var/log/docker.log", Unit = "docker.service", ReaderImage = "busybox" }));

        Assert.Contains(result.Failures!, f => f.StartsWith("Docker:Hosts:h:SystemLog:Unit", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Docker:Hosts:h:SystemLog:ReaderImage", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_OutOfRangeLimits_Fail()
    {
        var result = new DockerOptionsValidator().Validate(null, Options(hostLogs: new HostLogOptions
        {
            PollInterval = TimeSpan.Zero, MaxLineBytes = 10, ReaderReadBackLines = 0, ReaderImage = " ", SystemLogFiles = ["var/log/syslog"],
            OutOfOrderSlack = TimeSpan.FromSeconds(-1),
        }));

        foreach (var setting in new[] { "PollInterval", "MaxLineBytes", "ReaderReadBackLines", "ReaderImage", "SystemLogFiles", "OutOfOrderSlack" })
            Assert.Contains(result.Failures!, f => f.StartsWith($"Docker:HostLogs:{setting}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("host")]
    [InlineData("daemon")]
    public async Task RolloutFlag_HostAndDaemon_HaveNoLegacyPath(string endpoint)
    {
        await using var api = new ApiFactory();
        var http = api.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/flags/{endpoint}") { Content = JsonContent.Create(new { unified = false }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));

        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("has no legacy path", await response.Content.ReadAsStringAsync());
    }
}
