using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// Two Docker hosts behind one service: <c>a</c> is the suite's <c>main</c> engine, <c>b</c> an engine of this test's
/// own (started and stopped here, so no other test loses its daemon). A container of the same name runs on both.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class MultiHostTests(ITestOutputHelper output)
{
    private static readonly string EngineB = (Environment.GetEnvironmentVariable("LOGS_TEST_ENGINE_PREFIX") ?? "") + "hostb";
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task SameContainerNameOnTwoHosts_TwoStreamsEachItsOwnLines_OneDaemonStopped_OnlyItsStreamRetries()
    {
        var endpointA = TestEngines.Endpoint(TestEngines.Main);
        var endpointB = await EngineScript.StartAsync(EngineB);
        try
        {
            await EngineScript.ImportImageAsync(EngineB);
            var name = DockerCli.UniqueName("twin");
            await using var onA = await RunNamedAsync(endpointA, name, "a");
            await using var onB = await RunNamedAsync(endpointB, name, "b");
            await using var service = await ServiceProcess.StartAsync(new Dictionary<string, string>
            {
                ["Docker:DefaultHost"] = "a",
                ["Docker:Hosts:a:Endpoint"] = endpointA,
                ["Docker:Hosts:b:Endpoint"] = endpointB,
                ["Pipeline:RetryInitialBackoff"] = "00:00:00.2",
                ["Pipeline:RetryMaxBackoff"] = "00:00:01",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            });
            var viewerA = await Viewer.OpenAsync(service, $"/ws/containers/{name}/logs?host_id=a&timestamps=false&tail=0");
            var viewerB = await Viewer.OpenAsync(service, $"/ws/containers/{name}/logs?host_id=b&timestamps=false&tail=0");
            try
            {
                Assert.Equal(("a", "b"), (viewerA.Connected.GetProperty("host_id").GetString(), viewerB.Connected.GetProperty("host_id").GetString()));
                Assert.NotEqual(viewerA.Connected.GetProperty("source_id").GetString(), viewerB.Connected.GetProperty("source_id").GetString());
                await Eventually.True(() => viewerA.Lines.Count >= 20 && viewerB.Lines.Count >= 20, "lines on both hosts");
                var admin = await service.AdminGetAsync("/admin/streams");
                var hosts = admin.GetProperty("hosts").EnumerateArray().ToDictionary(h => h.GetProperty("id").GetString()!, h => h.GetProperty("streams").GetInt32());
                Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 1 }, hosts);
                using (var http = new HttpClient { BaseAddress = service.BaseUri })
                {
                    var ready = JsonDocument.Parse(await http.GetStringAsync("/readyz")).RootElement;
                    Assert.Equal(["a", "b"], ready.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("host").GetString()).Order());
                }

                await EngineScript.StopAsync(EngineB);
                await Eventually.True(() => viewerB.Notices.Contains("upstream_retrying"), "host b's viewer told its stream retries", EngineTimeout);
                var linesOfA = viewerA.Lines.Count;
                await Eventually.True(() => viewerA.Lines.Count >= linesOfA + 40, "host a's lines to go on while b is down", EngineTimeout);
                admin = await service.AdminGetAsync("/admin/streams");
                var retrying = admin.GetProperty("hosts").EnumerateArray().ToDictionary(h => h.GetProperty("id").GetString()!, h => h.GetProperty("retrying").GetInt32());
                using (var http = new HttpClient { BaseAddress = service.BaseUri })
                {
                    // /readyz reports the hosts' last round of pings (a check waits for a new round only briefly), so
                    // b's silence shows once a round has run since it stopped: wait for that, never for a fixed time.
                    JsonElement ready = default;
                    var status = 0;
                    await Eventually.True(async () =>
                    {
                        using var response = await http.GetAsync("/readyz");
                        status = (int)response.StatusCode;
                        ready = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                        return HostAnswers(ready, "b") == false;
                    }, "/readyz to report host b not answering", EngineTimeout);
                    output.WriteLine(ready.ToString());
                    // Still ready: a host that does not answer is every instance's problem, never a reason to route around one.
                    Assert.Equal(200, status);
                    Assert.False(ready.GetProperty("all_hosts_answer").GetBoolean());
                    Assert.True(HostAnswers(ready, "a"));
                }

                Assert.Equal(new Dictionary<string, int> { ["a"] = 0, ["b"] = 1 }, retrying);
                Assert.Empty(viewerA.Notices);
                Assert.All(viewerA.Lines, l => Assert.StartsWith("host=a ", l, StringComparison.Ordinal));
                Assert.All(viewerB.Lines, l => Assert.StartsWith("host=b ", l, StringComparison.Ordinal));
                Assert.False(viewerA.Closed || viewerB.Closed, "a viewer was closed");
            }
            finally
            {
                await viewerA.DisposeAsync();
                await viewerB.DisposeAsync();
            }
        }
        finally
        {
            await EngineScript.StopAsync(EngineB);
        }
    }

    private static Task<TestContainer> RunNamedAsync(string endpoint, string name, string host) =>
        TestContainer.RunNamedAsync(endpoint, name, $"i=0; while true; do i=$((i+1)); echo \"host={host} n=$i\"; sleep 0.05; done");

    /// <summary>One client of a log route, read in the background: its lines' texts and the notices it was sent.</summary>
    private sealed class Viewer : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket;
        private readonly List<string> _lines = [];
        private readonly List<string> _notices = [];
        private readonly Task _reading;

        private Viewer(ClientWebSocket socket, JsonElement connected)
        {
            _socket = socket;
            Connected = connected;
            _reading = Task.Run(ReadAsync);
        }

        public JsonElement Connected { get; }
        public List<string> Lines { get { lock (_lines) return [.. _lines]; } }
        public List<string> Notices { get { lock (_lines) return [.. _notices]; } }
        public bool Closed { get; private set; }

        public static async Task<Viewer> OpenAsync(ServiceProcess service, string path)
        {
            var socket = await service.ConnectAsync(path);
            var connected = await WsFrames.NextAsync(socket) ?? throw new InvalidOperationException("closed before connected");
            Assert.Equal("connected", connected.GetProperty("type").GetString());
            return new Viewer(socket, connected);
        }

        private async Task ReadAsync()
        {
            try
            {
                while (await WsFrames.NextAsync(_socket, TimeSpan.FromMinutes(5)) is { } frame)
                {
                    if (frame.GetProperty("type").GetString() != "log")
                        continue;
                    lock (_lines)
                    {
                        if (frame.TryGetProperty("notice", out var notice))
                            _notices.Add(notice.GetProperty("kind").GetString()!);
                        else if (!frame.TryGetProperty("gap", out _))
                            _lines.Add(frame.GetProperty("message").GetString()!);
                    }
                }
                Closed = true;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await WsFrames.CloseQuietlyAsync(_socket);
            await Task.WhenAny(_reading);
        }
    }

    /// <summary>Whether /readyz says the host answered its last ping; null before its first round.</summary>
    private static bool? HostAnswers(JsonElement ready, string host)
    {
        foreach (var h in ready.GetProperty("hosts").EnumerateArray())
            if (h.GetProperty("host").GetString() == host)
                return h.GetProperty("answers").ValueKind is JsonValueKind.True or JsonValueKind.False ? h.GetProperty("answers").GetBoolean() : null;
        return null;
    }
}
