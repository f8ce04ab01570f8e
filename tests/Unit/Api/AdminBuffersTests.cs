using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>The byte figures of issue 10 as an operator sees them: <c>/admin/streams</c> and <c>/metrics</c>.</summary>
public sealed class AdminBuffersTests
{
    [Fact]
    public async Task AdminStreams_ShowsPerStreamReplayAndQueuedBytesAndTheProcessTotalAgainstTheBudget()
    {
        await using var api = new ApiFactory(s => s["Pipeline:TotalBufferBytes"] = "268435456");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0");
        await Frames.Next(socket);
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 1, "the client to attach");
        for (var i = 1; i <= 5; i++)
            api.Containers.Write($"line {i}");
        for (var i = 0; i < 5; i++)
            Assert.Equal("log", (await Frames.Next(socket))!.Value.Type());

        var body = await AdminGet(api, "/admin/streams");
        var stream = Assert.Single(body.GetProperty("streams").EnumerateArray());
        var replayBytes = stream.GetProperty("replay_bytes").GetInt64();
        Assert.Equal(5, stream.GetProperty("replay_entries").GetInt32());
        Assert.True(replayBytes > 0);
        Assert.True(stream.GetProperty("queued_bytes").GetInt64() >= 0);
        Assert.True(stream.GetProperty("queued_entries").GetInt64() >= 0);
        var buffers = body.GetProperty("buffers");
        Assert.Equal(268435456, buffers.GetProperty("limit_bytes").GetInt64());
        // One stream: the process total is its replay buffer and its client's queue.
        Assert.Equal(replayBytes, buffers.GetProperty("replay_bytes").GetInt64());
        Assert.Equal(buffers.GetProperty("replay_bytes").GetInt64() + buffers.GetProperty("queued_bytes").GetInt64(), buffers.GetProperty("total_bytes").GetInt64());
        // The manager and the gauges share the one budget of the process.
        Assert.Same(api.Services.GetRequiredService<BufferBudget>(), api.Streams.Budget);
    }

    [Fact]
    public async Task Metrics_TheServicesGaugesObserveItsOneBudget()
    {
        await using var api = new ApiFactory(s => s["Pipeline:TotalBufferBytes"] = "268435456");
        _ = api.CreateClient();
        var metrics = api.Services.GetRequiredService<LogMetrics>();
        // Collected from this host's own instrument objects: a /metrics scrape would also see other test hosts' meters of the same name.
        using var limit = new MetricCollector<long>(metrics.BufferLimit!);
        using var bytes = new MetricCollector<long>(metrics.BufferBytes!);
        api.Containers.Write("one line");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=10");
        await Frames.Next(socket);
        Assert.Equal("log", (await Frames.Next(socket))!.Value.Type());

        limit.RecordObservableInstruments();
        bytes.RecordObservableInstruments();

        Assert.Equal(268435456, limit.LastMeasurement!.Value);
        var replay = bytes.GetMeasurementSnapshot().Last(m => (string?)m.Tags["kind"] == "replay");
        Assert.Equal(api.Streams.Budget.ReplayBytes, replay.Value);
        Assert.True(replay.Value > 0);
        Assert.Contains(bytes.GetMeasurementSnapshot(), m => (string?)m.Tags["kind"] == "queue");
    }

    private static async Task<JsonElement> AdminGet(ApiFactory api, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        var response = await api.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }
}
