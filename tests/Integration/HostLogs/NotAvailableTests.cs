using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// A host with no system or daemon log configured and none in the places looked at: the client gets
/// <c>not_available</c> (naming what was looked for and the setting) at once, and nothing is left running.
/// </summary>
public sealed class NotAvailableTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-nolog-").FullName;

    private (string, string)[] EmptyPlaces => [
        ("Docker:HostLogs:JournalDirectories:0", Path.Combine(_directory, "journal")),
        ("Docker:HostLogs:SystemLogFiles:0", Path.Combine(_directory, "syslog")),
        ("Docker:HostLogs:DaemonLogFiles:0", Path.Combine(_directory, "docker.log")),
    ];

    [Theory]
    [InlineData(LogSourceType.Host, "SystemLog", "syslog")]
    [InlineData(LogSourceType.Daemon, "DaemonLog", "docker.log")]
    public async Task Unconfigured_NothingThere_NotAvailableNamingThePlacesAndTheSetting(LogSourceType type, string setting, string file)
    {
        await using var harness = new HostLogHarness(output, TestEngines.Main, TestEngines.Endpoint(TestEngines.Main), EmptyPlaces);

        var fault = await Assert.ThrowsAsync<LogSourceException>(() => harness.SubscribeAsync(type));

        Assert.Equal(LogSourceErrorKind.NotAvailable, fault.Kind);
        Assert.Contains(Path.Combine(_directory, file), fault.Message);
        Assert.Contains($"Docker:Hosts:{TestEngines.Main}:{setting}", fault.Message);
        Assert.Equal(0, harness.Host.Manager.StreamCount);
    }

    [Fact]
    public async Task RemoteHostUnconfigured_NotAvailable()
    {
        await using var harness = new HostLogHarness(output, "remote", "tcp://127.0.0.1:1");

        var fault = await Assert.ThrowsAsync<LogSourceException>(() => harness.SubscribeAsync(LogSourceType.Host));

        Assert.Equal(LogSourceErrorKind.NotAvailable, fault.Kind);
        Assert.Contains("Docker:Hosts:remote:SystemLog", fault.Message);
    }

    [Fact]
    public async Task Service_UnconfiguredHostWithoutLogs_ErrorFrameNotAvailable4404_NoStreamLeft()
    {
        var settings = EmptyPlaces.ToDictionary(p => p.Item1, p => p.Item2);
        await using var service = await ServiceProcess.StartOnAsync(TestEngines.Endpoint(TestEngines.Main), settings);

        foreach (var route in new[] { "/ws/hosts/local/logs", "/ws/daemon/local/logs" })
        {
            using var socket = await service.ConnectAsync(route);
            var frames = await WsFrames.UntilClosedAsync(socket);
            var error = Assert.Single(frames, f => f.GetProperty("type").GetString() == "error");
            Assert.Equal("not_available", error.GetProperty("code").GetString());
            Assert.Contains(Path.Combine(_directory, route.Contains("daemon") ? "docker.log" : "syslog"), error.GetProperty("message").GetString());
            Assert.Equal((WebSocketCloseStatus)4404, socket.CloseStatus);
        }
        var streams = await service.AdminGetAsync("/admin/streams");
        Assert.Empty(streams.GetProperty("streams").EnumerateArray());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
