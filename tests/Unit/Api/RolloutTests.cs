using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Api;

public sealed class RolloutTests : IDisposable
{
    private readonly string _flagsFile = Path.Combine(Path.GetTempPath(), $"logs-flags-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_flagsFile);

    private void WriteFlags(bool unifiedContainers) =>
        File.WriteAllText(_flagsFile, $$"""{ "FeatureManagement": { "UnifiedContainerLogs": {{(unifiedContainers ? "true" : "false")}}, "UnifiedServiceLogs": true } }""");

    private static async Task<string> PathOf(ApiFactory api, string user = "user-1")
    {
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token(subject: user)}&follow=false");
        var connected = (await Frames.Next(socket))!.Value;
        Assert.Equal("connected", connected.Type());
        await Frames.UntilClosed(socket);
        return connected.Str("path");
    }

    [Fact]
    public async Task ConfigFileRewritten_NextConnectionsTakeTheOtherPathWithoutRestart()
    {
        WriteFlags(unifiedContainers: true);
        await using var api = new ApiFactory(extraJsonFile: _flagsFile);
        Assert.Equal("unified", await PathOf(api));

        // The file watcher reports the change when the file system tells it: wait for the flip itself. How fast it
        // comes is a timing claim, not this test's.
        WriteFlags(unifiedContainers: false);
        await Eventually.True(async () => await PathOf(api) == "legacy", "a new connection to take the legacy path after the file changed");

        WriteFlags(unifiedContainers: true);
        await Eventually.True(async () => await PathOf(api) == "unified", "a new connection to take the unified path after the file changed back");
    }

    [Fact]
    public async Task AdminOverride_RoutesNextConnectionAndIsRefusedToNonAdmins()
    {
        await using var api = new ApiFactory();
        var http = api.CreateClient();
        Assert.Equal("unified", await PathOf(api));

        var asViewer = new HttpRequestMessage(HttpMethod.Put, "/admin/flags/container") { Content = JsonContent.Create(new { unified = false }) };
        asViewer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "operator"));
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(asViewer)).StatusCode);
        Assert.Equal("unified", await PathOf(api));

        var asAdmin = new HttpRequestMessage(HttpMethod.Put, "/admin/flags/container") { Content = JsonContent.Create(new { unified = false }) };
        asAdmin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin", subject: "ops-anna"));
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(asAdmin)).StatusCode);
        Assert.Equal("legacy", await PathOf(api));
        Assert.Contains(api.LogLines, l => l.Contains("Rollout override for container logs set to False by user ops-anna", StringComparison.Ordinal));

        var list = new HttpRequestMessage(HttpMethod.Get, "/admin/flags");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        var body = JsonDocument.Parse(await (await http.SendAsync(list)).Content.ReadAsStringAsync()).RootElement;
        var container = body.GetProperty("flags").EnumerateArray().Single(f => f.GetProperty("endpoint").GetString() == "container");
        Assert.False(container.GetProperty("override").GetBoolean());
        Assert.True(container.GetProperty("configured").GetBoolean());

        var clear = new HttpRequestMessage(HttpMethod.Put, "/admin/flags/container") { Content = JsonContent.Create(new { unified = (bool?)null }) };
        clear.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(clear)).StatusCode);
        Assert.Equal("unified", await PathOf(api));
    }

    [Fact]
    public async Task LegacyPath_OpensOneUpstreamPerClient_UnifiedShareOne()
    {
        await using var api = new ApiFactory(s => s["FeatureManagement:UnifiedContainerLogs"] = "false");
        var sockets = new List<WebSocket>();
        for (var i = 0; i < 5; i++)
        {
            var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0&timestamps=false");
            Assert.Equal("legacy", (await Frames.Next(socket))!.Value.Str("path"));
            sockets.Add(socket);
        }
        await Eventually.True(() => api.Containers.OpenReads == 5, "five private upstream reads");
        api.Containers.Write("to each");
        foreach (var socket in sockets)
        {
            var frame = (await Frames.Next(socket))!.Value;
            Assert.Equal("to each", frame.Str("data"));
            Assert.False(frame.TryGetProperty("seq", out _));
        }
        Assert.Equal(0, api.Streams.StreamCount);
        foreach (var socket in sockets)
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await Eventually.True(() => api.Containers.OpenReads == 0, "every private upstream to be cancelled when its client left");
    }

    [Fact]
    public async Task PercentageRollout_SplitsThousandUsersNearHalfAndIsStickyPerUser()
    {
        await using var api = new ApiFactory(s =>
        {
            s["FeatureManagement:UnifiedContainerLogs:EnabledFor:0:Name"] = "Microsoft.Targeting";
            s["FeatureManagement:UnifiedContainerLogs:EnabledFor:0:Parameters:Audience:DefaultRolloutPercentage"] = "50";
        });
        _ = api.CreateClient();
        var selector = api.Services.GetRequiredService<PathSelector>();
        var first = new Dictionary<string, LogPath>();
        for (var i = 0; i < 1000; i++)
            first[$"user-{i}"] = await selector.SelectAsync(LogSourceType.Container, $"user-{i}", CancellationToken.None);
        var unified = first.Values.Count(p => p == LogPath.Unified);
        Assert.InRange(unified, 400, 600);
        foreach (var (user, path) in first)
            Assert.Equal(path, await selector.SelectAsync(LogSourceType.Container, user, CancellationToken.None));
        // Hosts, daemons and stacks exist only on the unified path.
        Assert.Equal(LogPath.Unified, await selector.SelectAsync(LogSourceType.Stack, "user-1", CancellationToken.None));
    }

    [Fact]
    public async Task Drain_ClosesOldPathSessionsWith1012WithinWindowAndTheyReconnectOntoNewPath()
    {
        // The service's clock is a fake one: "within the window" is proven by moving it by exactly the window, not
        // by how long the machine took.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var api = new ApiFactory(s => s["FeatureManagement:UnifiedContainerLogs"] = "false", time: time);
        var sockets = new List<WebSocket>();
        for (var i = 0; i < 4; i++)
        {
            var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token(subject: $"u{i}")}&tail=0");
            Assert.Equal("legacy", (await Frames.Next(socket))!.Value.Str("path"));
            sockets.Add(socket);
        }
        var http = api.CreateClient();
        var flip = new HttpRequestMessage(HttpMethod.Put, "/admin/flags/container") { Content = JsonContent.Create(new { unified = true }) };
        flip.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        await http.SendAsync(flip);

        var drain = new HttpRequestMessage(HttpMethod.Post, "/admin/flags/container/drain") { Content = JsonContent.Create(new { window_seconds = 10 }) };
        drain.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        var response = await http.SendAsync(drain);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // Every session's close is scheduled (on the fake clock) before the drain answers.
        Assert.Equal(4, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("sessions").GetInt32());

        time.Advance(TimeSpan.FromSeconds(10));
        foreach (var socket in sockets)
        {
            var (frames, status, _) = await Frames.UntilClosed(socket);
            var last = frames[^1];
            Assert.Equal("disconnected", last.Type());
            Assert.True(last.GetProperty("reconnect").GetBoolean());
            Assert.Equal((WebSocketCloseStatus)1012, status);
        }
        Assert.Equal("unified", await PathOf(api, "u0"));
    }

    [Theory]
    [InlineData("PUT", "/admin/flags/host", "{\"unified\":false}", HttpStatusCode.NotFound, "not_found")]
    [InlineData("POST", "/admin/flags/container/drain", "{\"window_seconds\":99999}", HttpStatusCode.BadRequest, "invalid_parameter")]
    public async Task RolloutErrors_HaveTheHttpErrorBody(string method, string path, string body, HttpStatusCode status, string code)
    {
        await using var api = new ApiFactory();
        var http = api.CreateClient();
        var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));

        var response = await http.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }
}
