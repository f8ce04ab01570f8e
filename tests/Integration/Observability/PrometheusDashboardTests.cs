using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Observability;

/// <summary>
/// The rollout dashboard (observability/grafana/logs-rollout.json) and the alerting rules
/// (observability/prometheus/rules.yml) against a real Prometheus (Debian's package, started by
/// scripts/prometheus.sh) scraping the service as a real process while real clients stream one container through
/// both paths. The queries asked are read from the dashboard file, so the dashboard cannot drift from what is proven.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class PrometheusDashboardTests(ITestOutputHelper output)
{
    private const int LegacyClients = 4;
    private const int UnifiedClients = 3;
    // Grafana's $__rate_interval is at least four scrape intervals; with a 1 s scrape, 30 s leaves plenty of samples.
    private const string RateInterval = "30s";
    private const string Promtool = "/usr/bin/promtool";
    private const string Counter = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.1; done";
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(30);

    private static string Root => EngineScript.RepositoryRoot;
    private static string DashboardFile => Path.Combine(Root, "observability", "grafana", "logs-rollout.json");
    private static string RulesFile => Path.Combine(Root, "observability", "prometheus", "rules.yml");
    private static string PrometheusScript => Path.Combine(Root, "scripts", "prometheus.sh");

    [Fact]
    public async Task BothPaths_DashboardQueriesInPrometheus_ShowStreamsSessionsSharingAndLines()
    {
        var started = Stopwatch.StartNew();
        var dashboard = Dashboard.Load(DashboardFile);
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var prometheusDir = Path.Combine(Path.GetTempPath(), DockerCli.UniqueName("prometheus"));
        Directory.CreateDirectory(prometheusDir);
        var sockets = new List<ClientWebSocket>();
        var readers = new List<Task<int>>();
        using var stopReading = new CancellationTokenSource();
        ServiceProcess? service = null;
        var prometheusStarted = false;
        await using var container = await TestContainer.RunAsync(endpoint, "prom", Counter);
        try
        {
            service = await ServiceProcess.StartOnAsync(endpoint);

            var config = Path.Combine(prometheusDir, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - {RulesFile}
                scrape_configs:
                  - job_name: logsmigration
                    metrics_path: /metrics
                    static_configs:
                      - targets: ["{service.BaseUri.Authority}"]
                """);
            prometheusStarted = true;
            var prometheusUrl = await StartPrometheusAsync(config, prometheusDir);
            output.WriteLine($"{started.Elapsed.TotalSeconds:0.0} s: service at {service.BaseUri}, Prometheus at {prometheusUrl}");
            using var prometheus = new HttpClient { BaseAddress = new Uri(prometheusUrl) };

            // N clients on legacy, then M on unified: the flag decides the path of new connections only.
            await SetContainerPathAsync(service, false);
            for (var i = 0; i < LegacyClients; i++)
                sockets.Add(await OpenAsync(service, container.Name, "legacy", readers, stopReading.Token));
            await SetContainerPathAsync(service, true);
            for (var i = 0; i < UnifiedClients; i++)
                sockets.Add(await OpenAsync(service, container.Name, "unified", readers, stopReading.Token));
            output.WriteLine($"{started.Elapsed.TotalSeconds:0.0} s: {LegacyClients} legacy and {UnifiedClients} unified clients streaming");

            var upstreams = dashboard.Query("Open upstream streams to Docker", "A");
            var sessions = dashboard.Query("Open sessions", "A");
            var sharing = dashboard.Query("Sharing factor (sessions per upstream stream)", "A");
            var delivered = dashboard.Query("Lines delivered per second", "A");
            await ExpectAsync(prometheus, upstreams, "4 upstreams on legacy, 1 on unified", r => Is(r, "legacy", 4) && Is(r, "unified", 1));
            await ExpectAsync(prometheus, sessions, "4 sessions on legacy, 3 on unified", r => Is(r, "legacy", 4) && Is(r, "unified", 3));
            await ExpectAsync(prometheus, sharing, "sharing factor 1 on legacy, 3 on unified", r => Is(r, "legacy", 1) && Is(r, "unified", 3));
            await ExpectAsync(prometheus, delivered, "lines delivered on both paths", r => r.Count == 2 && r.GetValueOrDefault("legacy") > 0 && r.GetValueOrDefault("unified") > 0);

            // Every other query of the dashboard at least parses and runs.
            foreach (var (title, refId, query) in dashboard.AllQueries())
            {
                var answer = await QueryAsync(prometheus, query);
                Assert.True(answer.Status == "success", $"'{title}' {refId}: {query} -> {answer.Error}");
            }

            // The rules file loads into a real Prometheus, every rule in it.
            var rules = JsonDocument.Parse(await prometheus.GetStringAsync("/api/v1/rules")).RootElement.GetProperty("data").GetProperty("groups");
            var loaded = rules.EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray()).Select(r => r.GetProperty("name").GetString()).ToList();
            Assert.Contains("LogsUpstreamLeak", loaded);
            Assert.Contains("LogsDropRateHigh", loaded);
            Assert.Contains("LogsRefusalSpikeOnPath", loaded);

            // Each client closes; its reader ends on the server's close and says how many frames it got.
            foreach (var socket in sockets)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            var counts = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.All(counts, c => Assert.True(c > 0, $"a client got no frames after its first line: {string.Join(", ", counts)}"));
            output.WriteLine($"{started.Elapsed.TotalSeconds:0.0} s: frames per client after the first line: {string.Join(", ", counts)}");
        }
        finally
        {
            await stopReading.CancelAsync();
            foreach (var socket in sockets)
                await WsFrames.CloseQuietlyAsync(socket);
            if (service is not null)
            {
                try
                {
                    await SetContainerPathAsync(service, null);
                }
                catch (HttpRequestException)
                {
                }
                await service.DisposeAsync();
            }
            if (prometheusStarted)
                await ProcessRunner.RunAsync("bash", [PrometheusScript, "stop", prometheusDir]);
            try
            {
                Directory.Delete(prometheusDir, recursive: true);
            }
            catch (IOException)
            {
            }
            output.WriteLine($"{started.Elapsed.TotalSeconds:0.0} s: done");
        }
    }

    [Fact]
    public async Task Rules_PassPromtoolCheckAndTheirUnitTests()
    {
        Assert.True(File.Exists(Promtool), $"{Promtool} is missing: run `scripts/prometheus.sh install` (scripts/test.sh does).");
        var check = await ProcessRunner.RunAsync(Promtool, ["check", "rules", RulesFile]);
        Assert.True(check.ExitCode == 0, $"promtool check rules: {check.Output}{check.Error}");
        var config = await ProcessRunner.RunAsync(Promtool, ["check", "config", Path.Combine(Root, "observability", "prometheus", "prometheus.yml")]);
        Assert.True(config.ExitCode == 0, $"promtool check config: {config.Output}{config.Error}");
        var unit = await ProcessRunner.RunAsync(Promtool, ["test", "rules", Path.Combine(Root, "observability", "prometheus", "rules.test.yml")]);
        Assert.True(unit.ExitCode == 0, $"promtool test rules: {unit.Output}{unit.Error}");
    }

    [Fact]
    public void Dashboard_EveryPanelDescribedAndOnTheDatasourceVariable()
    {
        var dashboard = Dashboard.Load(DashboardFile);
        var panels = dashboard.Panels().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.NotEmpty(panels);
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.True(panel.TryGetProperty("description", out var description) && description.GetString()!.Length > 40, $"'{title}' has no description");
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal("${datasource}", target.GetProperty("datasource").GetProperty("uid").GetString());
                Assert.Contains("path", target.GetProperty("legendFormat").GetString(), StringComparison.Ordinal);
            }
        }
    }

    private async Task<ClientWebSocket> OpenAsync(ServiceProcess service, string container, string path, List<Task<int>> readers, CancellationToken stop)
    {
        var socket = await service.ConnectAsync($"/ws/containers/{container}/logs?tail=5");
        var connected = await WsFrames.NextAsync(socket) ?? throw new InvalidOperationException("Closed before the connected frame.");
        Assert.Equal("connected", connected.GetProperty("type").GetString());
        Assert.Equal(path, connected.GetProperty("path").GetString());
        // Its first line: the session is open and its upstream is reading.
        await WsFrames.LogsAsync(socket, 1);
        readers.Add(ReadUntilStoppedAsync(socket, stop));
        return socket;
    }

    /// <summary>Keeps a client reading (as a real one does) and counts its frames, until the close or <paramref name="stop"/>.</summary>
    private static async Task<int> ReadUntilStoppedAsync(WebSocket socket, CancellationToken stop)
    {
        var frames = 0;
        var buffer = new byte[64 * 1024];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer, stop);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
                if (result.EndOfMessage)
                    frames++;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        return frames;
    }

    private static async Task SetContainerPathAsync(ServiceProcess service, bool? unified)
    {
        // AdminClient carries ServiceProcess.Token("admin", ...).
        using var http = service.AdminClient();
        (await http.PutAsJsonAsync("/admin/flags/container", new { unified })).EnsureSuccessStatusCode();
    }

    private static bool Is(Dictionary<string, double> byPath, string path, double expected) =>
        byPath.TryGetValue(path, out var value) && Math.Abs(value - expected) < 0.001;

    /// <summary>Asks <paramref name="query"/> until its answer (value by path) satisfies <paramref name="expected"/>: Prometheus scrapes every second.</summary>
    private async Task ExpectAsync(HttpClient prometheus, string query, string what, Func<Dictionary<string, double>, bool> expected)
    {
        var deadline = DateTime.UtcNow + ScrapeTimeout;
        var last = "";
        while (true)
        {
            var answer = await QueryAsync(prometheus, query);
            Assert.True(answer.Status == "success", $"{query} -> {answer.Error}");
            last = string.Join(", ", answer.ByPath.Select(kv => $"{kv.Key}={kv.Value.ToString(CultureInfo.InvariantCulture)}"));
            if (expected(answer.ByPath))
            {
                output.WriteLine($"{what}: {query} -> {last}");
                return;
            }
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Prometheus never answered {what} within {ScrapeTimeout.TotalSeconds} s.\nQuery: {query}\nLast answer: {last}");
            await Task.Delay(200);
        }
    }

    private static async Task<Answer> QueryAsync(HttpClient prometheus, string query)
    {
        using var response = await prometheus.GetAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}");
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var status = root.GetProperty("status").GetString()!;
        if (status != "success")
            return new Answer(status, root.TryGetProperty("error", out var error) ? error.GetString() : null, []);
        var byPath = new Dictionary<string, double>();
        foreach (var series in root.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var path = series.GetProperty("metric").TryGetProperty("path", out var p) ? p.GetString()! : "";
            var value = series.GetProperty("value")[1].GetString()!;
            byPath[path] = value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            };
        }
        return new Answer(status, null, byPath);
    }

    /// <summary>scripts/prometheus.sh start on a free port; another port if that one was taken meanwhile.</summary>
    private static async Task<string> StartPrometheusAsync(string config, string directory)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await ProcessRunner.RunAsync("bash", [PrometheusScript, "start", config, directory, FreePort().ToString(CultureInfo.InvariantCulture)]);
            if (result.ExitCode == 0)
                return result.Output.Trim();
            if (attempt == 3)
                throw new InvalidOperationException($"scripts/prometheus.sh start failed {attempt} times: {result.Error.Trim()}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Answer(string Status, string? Error, Dictionary<string, double> ByPath);

    /// <summary>The dashboard file, and its queries with Grafana's variables substituted as Grafana would.</summary>
    private sealed class Dashboard
    {
        private readonly JsonElement _root;
        private readonly Dictionary<string, string> _variables;

        private Dashboard(JsonElement root)
        {
            _root = root;
            _variables = new Dictionary<string, string> { ["__rate_interval"] = RateInterval };
            // Every query variable of the dashboard set to "All", as on first opening.
            foreach (var variable in root.GetProperty("templating").GetProperty("list").EnumerateArray())
            {
                if (variable.GetProperty("type").GetString() == "query")
                    _variables[variable.GetProperty("name").GetString()!] = variable.GetProperty("allValue").GetString()!;
            }
        }

        public static Dashboard Load(string file) => new(JsonDocument.Parse(File.ReadAllText(file)).RootElement.Clone());

        /// <summary>Every panel, those inside rows included.</summary>
        public IEnumerable<JsonElement> Panels()
        {
            foreach (var panel in _root.GetProperty("panels").EnumerateArray())
            {
                yield return panel;
                if (panel.TryGetProperty("panels", out var nested))
                {
                    foreach (var inner in nested.EnumerateArray())
                        yield return inner;
                }
            }
        }

        /// <summary>The PromQL of target <paramref name="refId"/> of the panel titled <paramref name="title"/>, variables substituted.</summary>
        public string Query(string title, string refId)
        {
            var panel = Panels().Where(p => p.GetProperty("title").GetString() == title).ToList();
            Assert.True(panel.Count == 1, $"The dashboard has {panel.Count} panels titled '{title}'.");
            var target = panel[0].GetProperty("targets").EnumerateArray().Where(t => t.GetProperty("refId").GetString() == refId).ToList();
            Assert.True(target.Count == 1, $"Panel '{title}' has {target.Count} targets {refId}.");
            return Substitute(target[0].GetProperty("expr").GetString()!);
        }

        public IEnumerable<(string Title, string RefId, string Query)> AllQueries() =>
            from panel in Panels()
            where panel.TryGetProperty("targets", out _)
            from target in panel.GetProperty("targets").EnumerateArray()
            select (panel.GetProperty("title").GetString()!, target.GetProperty("refId").GetString()!, Substitute(target.GetProperty("expr").GetString()!));

        private string Substitute(string expr)
        {
            // Longest names first, so $source never eats part of a longer name.
            foreach (var (name, value) in _variables.OrderByDescending(v => v.Key.Length))
                expr = expr.Replace("${" + name + "}", value, StringComparison.Ordinal).Replace("$" + name, value, StringComparison.Ordinal);
            Assert.False(expr.Contains('$', StringComparison.Ordinal), $"A dashboard variable the test does not know is left in: {expr}");
            return expr;
        }
    }
}
