using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;

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
    public async Task Metrics_ServeTheBufferGaugesAndTheBudget()
    {
        await using var api = new ApiFactory(s => s["Pipeline:TotalBufferBytes"] = "268435456");
        var http = api.CreateClient();
        // The instruments exist once the pipeline does (the first session or admin call makes it).
        _ = api.Streams;
        var text = await http.GetStringAsync("/metrics");
        var lines = text.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("logs_buffer_limit_bytes", StringComparison.Ordinal) && l.EndsWith(" 268435456", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("logs_buffer_bytes{", StringComparison.Ordinal) && l.Contains("kind=\"replay\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("logs_buffer_bytes{", StringComparison.Ordinal) && l.Contains("kind=\"queue\"", StringComparison.Ordinal));
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
