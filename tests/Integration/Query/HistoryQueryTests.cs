using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// Filtered history, time ranges and downloads against the real engine: a small replay buffer so the backward scan
/// must read Docker, ranges with the timestamps Docker itself gives, a real 2-replica service.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class HistoryQueryTests : IAsyncLifetime
{
    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await QueryTestBed.StartAsync(replayEntries: 50, new Dictionary<string, string>
        {
            ["Pipeline:IdleGrace"] = "00:00:01",
            ["Query:DownloadMaxLines"] = "150",
            ["Docker:ServiceMergeWindow"] = "00:00:02",
        });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task FilteredTail_OlderThanTheReplayBuffer_IsFoundByTheBackwardScan_ThenLive()
    {
        // 30 matching lines, then (seconds later, so the scan needs several windows) 200 others the buffer of 50 holds
        // the newest of; then, on the test's word, 3 more matching lines.
        await using var container = await TestContainer.RunAsync(_endpoint, "scan",
            "i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo \"n=$i needle\"; done; sleep 3; " +
            "while [ $i -lt 230 ]; do i=$((i+1)); echo \"n=$i hay\"; done; " +
            "while [ ! -e /go ]; do sleep 0.05; done; while [ $i -lt 233 ]; do i=$((i+1)); echo \"n=$i needle\"; done; sleep 1000");
        await QueryTestBed.ContainerLoggedAsync(container, "n=230 hay");

        using var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=20&timestamps=false&filter=needle&progress=true");
        var (history, progress) = await QueryFramesReader.ReadAsync(socket, 20);
        Assert.Equal(Enumerable.Range(11, 20).Select(n => (long)n), history.Select(WsFrames.Number));
        Assert.NotEmpty(progress);
        Assert.Equal("done", progress[^1].GetProperty("state").GetString());
        Assert.Equal(20, progress[^1].GetProperty("found").GetInt32());
        Assert.All(progress[..^1], p => Assert.Equal("scanning", p.GetProperty("state").GetString()));

        await DockerCli.RunAsync(_endpoint, "exec", container.Name, "sh", "-c", ": > /go");
        var (live, _) = await QueryFramesReader.ReadAsync(socket, 3);
        Assert.Equal([231L, 232L, 233L], live.Select(WsFrames.Number));
        await WsFrames.CloseQuietlyAsync(socket);
    }

    [Fact]
    public async Task SinceUntil_OverTenThousandLines_IsExactlyTheRange_FromDocker()
    {
        await using var container = await TestContainer.RunAsync(_endpoint, "range", "seq 1 10000 | sed 's/^/n=/'; sleep 1000");
        // The timestamps Docker gave the lines, from Docker itself.
        List<(string Timestamp, string Text)> lines = [];
        await Eventually.True(async () =>
        {
            var output = await DockerCli.RunAsync(_endpoint, "logs", "-t", container.Name);
            lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (l[..l.IndexOf(' ')], l[(l.IndexOf(' ') + 1)..])).ToList();
            return lines.Count == 10000;
        }, "10,000 lines to be written", interval: TimeSpan.FromMilliseconds(500));
        var since = lines[2000].Timestamp;
        var until = lines[7000].Timestamp;
        var expected = lines.Where(l => string.CompareOrdinal(l.Timestamp, since) >= 0 && string.CompareOrdinal(l.Timestamp, until) <= 0).Select(l => l.Text).ToList();

        using var socket = await _service.ConnectAsync($"/ws/containers/{container.Name}/logs?timestamps=false&since={since}&until={until}");
        var received = await QueryFramesReader.UntilCompleteAsync(socket);
        Assert.Equal(expected, received.Select(QueryFramesReader.Message));
        Assert.All(received, r => Assert.InRange(string.CompareOrdinal(r.GetProperty("timestamp").GetString(), since), 0, int.MaxValue));
    }

    [Fact]
    public async Task Download_TwoReplicaService_Ndjson_EqualsTheRoute_InTimestampOrder_GzipCutAndRefusals()
    {
        await using var service = await TestService.CreateAsync(_endpoint, "dl", 2,
            "i=0; while [ $i -lt 100 ]; do i=$((i+1)); if [ $((i % 2)) -eq 0 ]; then echo \"n=$i even\"; else echo \"n=$i odd\"; fi; done; sleep 1000");
        await Eventually.True(async () =>
            (await DockerCli.RunAsync(_endpoint, "service", "logs", "--raw", service.Name)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 200,
            "both replicas' 100 lines", TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500));
        var until = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var query = $"host_id=local&filter=odd&since=1h&until={until}";

        using var socket = await _service.ConnectAsync($"/api/v1/services/{service.Name}/logs?timestamps=false&{query}");
        var routed = await QueryFramesReader.UntilCompleteAsync(socket);
        Assert.Equal(100, routed.Count);

        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = _service.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.Token());
        using var plain = await http.GetAsync($"/api/v1/logs/service/{service.Name}/download?{query}&format=ndjson");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Contains($"service-{service.Name}_", plain.Content.Headers.ContentDisposition!.FileName);
        var downloaded = Ndjson(await plain.Content.ReadAsStringAsync());
        static string Key(JsonElement l) => $"{l.GetProperty("timestamp").GetString()} {l.GetProperty("metadata").GetProperty("task_id").GetString()} {l.GetProperty("message").GetString()}";
        Assert.Equal(routed.Select(Key).Order(), downloaded.Select(Key).Order());
        var stamps = downloaded.Select(l => l.GetProperty("timestamp").GetString()!).ToList();
        Assert.Equal(stamps.Order(StringComparer.Ordinal), stamps);
        Assert.All(downloaded, l => Assert.EndsWith("odd", l.GetProperty("message").GetString()));
        Assert.All(downloaded, l => Assert.True(l.TryGetProperty("matches", out _)));

        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/logs/service/{service.Name}/download?{query}&format=ndjson");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var zipped = await http.SendAsync(request);
        Assert.Equal("gzip", Assert.Single(zipped.Content.Headers.ContentEncoding));
        await using (var unzip = new GZipStream(await zipped.Content.ReadAsStreamAsync(), CompressionMode.Decompress))
        using (var reader = new StreamReader(unzip))
            Assert.Equal(downloaded.Select(Key), Ndjson(await reader.ReadToEndAsync()).Select(Key));

        // 200 lines without the filter, Query:DownloadMaxLines 150: cut, and said so.
        using var cut = await http.GetAsync($"/api/v1/logs/service/{service.Name}/download?host_id=local&since=1h&until={until}&format=ndjson");
        var cutLines = (await cut.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(151, cutLines.Length);
        var trailer = JsonDocument.Parse(cutLines[^1]).RootElement;
        Assert.Equal("truncated", trailer.GetProperty("type").GetString());
        Assert.Equal("max_lines", trailer.GetProperty("reason").GetString());
        Assert.Equal(150, trailer.GetProperty("lines").GetInt32());
        using var text = await http.GetAsync($"/api/v1/logs/service/{service.Name}/download?host_id=local&since=1h&until={until}");
        Assert.StartsWith("# [logs] truncated (max_lines)", (await text.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);

        using var anonymous = new HttpClient { BaseAddress = _service.BaseUri };
        using var bad = await anonymous.GetAsync($"/api/v1/logs/service/{service.Name}/download?{query}&token=nonsense");
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal("token_invalid", JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        using var low = await anonymous.GetAsync($"/api/v1/logs/service/{service.Name}/download?{query}&token={ServiceProcess.Token("nobody")}");
        Assert.Equal(HttpStatusCode.Forbidden, low.StatusCode);
        Assert.Equal("forbidden", JsonDocument.Parse(await low.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        // Stacks have their source now (merged from main): an unknown stack is not_found, like any unknown resource.
        using var noStack = await http.GetAsync("/api/v1/logs/stack/no-such-stack-q/download");
        Assert.Equal(HttpStatusCode.NotFound, noStack.StatusCode);
        Assert.Equal("not_found", JsonDocument.Parse(await noStack.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    private static List<JsonElement> Ndjson(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
}
