using System.Net;
using System.Net.WebSockets;
using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// Instrument values after known traffic. Each collector listens to the instrument objects of this test's own host
/// (created from its own IMeterFactory), so parallel test hosts never leak into each other's numbers. The
/// Prometheus endpoint is another matter: OpenTelemetry's listener takes every meter named <c>LogsMigration</c> in
/// the process, whichever host made it (a scrape of one test host shows another's sessions), so these tests run in
/// a collection of their own, alone.
/// </summary>
[Collection(ProcessWideMetricsCollection.Name)]
public sealed class MetricsTests
{
    private static long Sum(MetricCollector<long> collector, params (string Key, string Value)[] tags) =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && (string?)v == t.Value))
            .Sum(m => m.Value);

    [Fact]
    public async Task KnownTraffic_OnBothPaths_CountsSessionsUpstreamsAndLinesPerPath()
    {
        await using var api = new ApiFactory();
        _ = api.CreateClient();
        var metrics = api.Services.GetRequiredService<LogMetrics>();
        using var sessions = new MetricCollector<long>(metrics.Sessions);
        using var upstreams = new MetricCollector<long>(metrics.Upstreams);
        using var read = new MetricCollector<long>(metrics.EntriesRead);
        using var sent = new MetricCollector<long>(metrics.EntriesSent);
        using var refusals = new MetricCollector<long>(metrics.Refusals);
        using var firstLine = new MetricCollector<double>(metrics.FirstLine);

        var sockets = new List<WebSocket>();
        for (var i = 0; i < 3; i++)
            sockets.Add(await Open(api, "unified"));
        api.Services.GetRequiredService<PathSelector>().SetOverride(LogSourceType.Container, false, "test");
        for (var i = 0; i < 2; i++)
            sockets.Add(await Open(api, "legacy"));
        await Eventually.True(() => api.Streams.ListStreams().Sum(s => s.Subscribers) == 3 && api.Containers.OpenReads == 3, "every client attached");

        for (var i = 1; i <= 5; i++)
            api.Containers.Write($"line {i}");
        foreach (var socket in sockets)
        {
            for (var i = 0; i < 5; i++)
                Assert.Equal("log", (await Frames.Next(socket))!.Value.Type());
        }
        await Eventually.True(() => Sum(sent, ("path", "unified")) == 15 && Sum(sent, ("path", "legacy")) == 10, "lines sent to be counted");

        Assert.Equal(3, Sum(sessions, ("path", "unified"), ("source", "container")));
        Assert.Equal(2, Sum(sessions, ("path", "legacy"), ("source", "container")));
        Assert.Equal(1, Sum(upstreams, ("path", "unified"), ("host", "local")));
        Assert.Equal(2, Sum(upstreams, ("path", "legacy"), ("host", "local")));
        Assert.Equal(5, Sum(read, ("path", "unified")));
        Assert.Equal(10, Sum(read, ("path", "legacy")));
        Assert.Equal(5, firstLine.GetMeasurementSnapshot().Count);

        using (var refused = await api.Connect("/ws/containers/web-1/logs?token=bad"))
            await Frames.UntilClosed(refused);
        Assert.Equal(1, Sum(refusals, ("code", "token_invalid"), ("path", "none")));

        foreach (var socket in sockets)
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await Eventually.True(() => Sum(sessions) == 0, "sessions to return to zero");
        await Eventually.True(() => Sum(upstreams, ("path", "legacy")) == 0, "legacy upstreams to close with their clients");
    }

    [Fact]
    public async Task MetricsEndpoint_ServesPrometheusText()
    {
        await using var api = new ApiFactory();
        api.Containers.Write("one line of history");
        using (var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&follow=false"))
            await Frames.UntilClosed(socket);
        var http = api.CreateClient();
        var text = "";
        // The client sees the close when the session's instruments are recorded, but what a scrape shows is the
        // exporter's to decide (it collects on request and may serve a cached scrape for a moment): poll until the
        // pipeline's instrument is there, then check the whole text.
        await Eventually.True(async () =>
        {
            using var response = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            return SubscribedFirstLineCount(text) is not null;
        }, "the session's logs_subscribed_first_line_duration_seconds in /metrics");

        Assert.Contains("logs_history_requests_total{", text);
        Assert.Contains("origin=\"upstream\"", text);
        // Latency histograms have bounds in seconds (the exporter's default ones are for milliseconds).
        Assert.Contains(text.Split('\n'), l => l.StartsWith("logs_first_line_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("le=\"0.001\"", StringComparison.Ordinal));
        // The pipeline's part of the first line, by where the history came from (here one read of the source).
        Assert.EndsWith(" 1", SubscribedFirstLineCount(text));
    }

    private static string? SubscribedFirstLineCount(string prometheusText) =>
        prometheusText.Split('\n').FirstOrDefault(l => l.StartsWith("logs_subscribed_first_line_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("origin=\"upstream\"", StringComparison.Ordinal) && l.Contains("path=\"unified\"", StringComparison.Ordinal));

    private static async Task<WebSocket> Open(ApiFactory api, string expectedPath)
    {
        var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0");
        Assert.Equal(expectedPath, (await Frames.Next(socket))!.Value.Str("path"));
        return socket;
    }
}
