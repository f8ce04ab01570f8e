using System.Net.Http.Json;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// The legacy and unified paths send the same frames for the same resource and parameters, compared field by
/// field; only the fields that describe the path itself may differ (docs/protocol.md lists them).
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class ParityTests : IAsyncLifetime
{
    // Fields that describe the path or the moment of sending, not the log.
    private static readonly HashSet<string> PathFields = ["seq", "epoch", "cursor", "path"];

    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await ServiceProcess.StartOnAsync(_endpoint);
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    public static TheoryData<int, bool, bool> Combinations()
    {
        var data = new TheoryData<int, bool, bool>();
        foreach (var tail in new[] { 0, 5, 50 })
            foreach (var follow in new[] { true, false })
                foreach (var timestamps in new[] { true, false })
                    data.Add(tail, follow, timestamps);
        return data;
    }

    [Fact]
    public async Task Container_EveryCombination_SameFramesOnBothPaths()
    {
        // 20 lines on stdout and stderr, then silence: the history is fixed while the paths are compared.
        await using var container = await TestContainer.RunAsync(_endpoint, "parity",
            "i=0; while [ $i -lt 20 ]; do i=$((i+1)); if [ $((i % 4)) -eq 0 ]; then echo \"level=error n=$i\" >&2; else echo \"n=$i\"; fi; done; sleep 100000");
        await Eventually.True(async () => (await DockerCli.RunAsync(_endpoint, "logs", container.Name)).Length > 0, "the container's lines");
        await WaitForLinesAsync($"/ws/containers/{container.Name}/logs", 20);
        foreach (var (tail, follow, timestamps) in Combinations().Select(row => ((int)row[0], (bool)row[1], (bool)row[2])))
            await AssertSameFramesAsync($"/ws/containers/{container.Name}/logs?tail={tail}&follow={follow.ToString().ToLowerInvariant()}&timestamps={timestamps.ToString().ToLowerInvariant()}", "container", Math.Min(tail, 20), follow);
    }

    [Fact]
    public async Task Service_EveryCombination_SameFramesOnBothPaths()
    {
        await using var service = await TestService.CreateAsync(_endpoint, "parity", 2, "i=0; while [ $i -lt 10 ]; do i=$((i+1)); echo \"n=$i\"; done; sleep 100000");
        await WaitForLinesAsync($"/api/v1/services/{service.Name}/logs?host_id=local", 20);
        foreach (var (tail, follow, timestamps) in Combinations().Select(row => ((int)row[0], (bool)row[1], (bool)row[2])))
        {
            // Docker's service tail counts per task: two replicas give up to twice the tail.
            var expected = Math.Min(tail * 2, 20);
            await AssertSameFramesAsync($"/api/v1/services/{service.Name}/logs?host_id=local&tail={tail}&follow={follow.ToString().ToLowerInvariant()}&timestamps={timestamps.ToString().ToLowerInvariant()}", "service", expected, follow);
        }
    }

    private async Task WaitForLinesAsync(string path, int count) =>
        await Eventually.True(async () =>
        {
            using var socket = await _service.ConnectAsync($"{path}{(path.Contains('?') ? '&' : '?')}tail=1000&follow=false");
            var frames = await WsFrames.UntilClosedAsync(socket);
            return frames.Count(f => f.GetProperty("type").GetString() == "log") >= count;
        }, $"{count} lines at {path}");

    private async Task AssertSameFramesAsync(string pathAndQuery, string endpoint, int expectedLines, bool follow)
    {
        var legacy = await FramesOnAsync(endpoint, unified: false, pathAndQuery, expectedLines, follow);
        var unified = await FramesOnAsync(endpoint, unified: true, pathAndQuery, expectedLines, follow);
        Assert.Equal("legacy", legacy[0].GetProperty("path").GetString());
        Assert.Equal("unified", unified[0].GetProperty("path").GetString());
        Assert.True(legacy.Count == unified.Count, $"{pathAndQuery}: {legacy.Count} legacy frames, {unified.Count} unified");
        for (var i = 0; i < legacy.Count; i++)
            AssertSameFrame(legacy[i], unified[i], $"{pathAndQuery} frame {i}");
    }

    /// <summary>
    /// The frames one client gets on one path: connected, the history, and (follow=false) complete. Control frames'
    /// timestamps are the moment of sending, so they are compared by presence only.
    /// </summary>
    private async Task<List<JsonElement>> FramesOnAsync(string endpoint, bool unified, string pathAndQuery, int expectedLines, bool follow)
    {
        using var http = _service.AdminClient();
        (await http.PutAsJsonAsync($"/admin/flags/{endpoint}", new { unified })).EnsureSuccessStatusCode();
        using var socket = await _service.ConnectAsync(pathAndQuery);
        List<JsonElement> frames;
        if (follow)
        {
            frames = [(await WsFrames.NextAsync(socket))!.Value];
            frames.AddRange(await WsFrames.LogsAsync(socket, expectedLines));
            await WsFrames.CloseQuietlyAsync(socket);
        }
        else
        {
            frames = await WsFrames.UntilClosedAsync(socket);
        }
        Assert.Equal(expectedLines, frames.Count(f => f.GetProperty("type").GetString() == "log"));
        return endpoint == "service" ? SortReplicaLines(frames) : frames;
    }

    /// <summary>Docker does not order lines of different service replicas; compare them in timestamp order.</summary>
    private static List<JsonElement> SortReplicaLines(List<JsonElement> frames)
    {
        var logs = frames.Where(f => f.GetProperty("type").GetString() == "log")
            .OrderBy(f => f.GetProperty("timestamp").GetString(), StringComparer.Ordinal)
            .ThenBy(f => f.GetProperty("data").GetString(), StringComparer.Ordinal).ToList();
        var others = frames.Where(f => f.GetProperty("type").GetString() != "log").ToList();
        return [others[0], .. logs, .. others.Skip(1)];
    }

    private static void AssertSameFrame(JsonElement legacy, JsonElement unified, string where)
    {
        var type = legacy.GetProperty("type").GetString();
        Assert.Equal(type, unified.GetProperty("type").GetString());
        var names = legacy.EnumerateObject().Select(p => p.Name).Concat(unified.EnumerateObject().Select(p => p.Name))
            .Where(n => !PathFields.Contains(n)).Distinct();
        foreach (var name in names)
        {
            Assert.True(legacy.TryGetProperty(name, out var l), $"{where}: legacy lacks '{name}'");
            Assert.True(unified.TryGetProperty(name, out var u), $"{where}: unified lacks '{name}'");
            if (name == "timestamp" && type != "log")
                continue;
            Assert.True(l.GetRawText() == u.GetRawText(), $"{where}: '{name}' differs: legacy {l.GetRawText()} unified {u.GetRawText()}");
        }
    }
}
