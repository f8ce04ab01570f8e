using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Unit.Api;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Query;

/// <summary>The query parameters of the live routes through the API, against a fake source.</summary>
public sealed class QueryRouteTests : IAsyncLifetime
{
    private readonly ApiFactory _api = new(c => c["Pipeline:ReplayEntries"] = "1000");

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string Viewer => ApiFactory.Token();

    private Task WaitForSubscribers(int count) =>
        Eventually.True(() => _api.Streams.ListStreams().Sum(s => s.Subscribers) == count, $"{count} subscribers to attach");

    private static async Task<List<JsonElement>> Logs(WebSocket socket, int count)
    {
        var logs = new List<JsonElement>();
        while (logs.Count < count)
        {
            var frame = (await Frames.Next(socket))!.Value;
            if (frame.Type() == "log")
                logs.Add(frame);
        }
        return logs;
    }

    [Fact]
    public async Task Filter_Live_DeliversOnlyMatchingLinesWithMatches_OnTheSharedStream()
    {
        using var all = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0&timestamps=false");
        using var errors = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0&timestamps=true&filter=err");
        await WaitForSubscribers(2);
        for (var i = 1; i <= 10; i++)
            _api.Containers.Write(i % 3 == 0 ? $"n={i} ERROR here" : $"n={i} ok");
        _api.Containers.Write("last err");

        Assert.Equal(11, (await Logs(all, 11)).Count);
        var filtered = await Logs(errors, 4);
        Assert.Equal(["n=3 ERROR here", "n=6 ERROR here", "n=9 ERROR here", "last err"], filtered.Select(f => f.Str("message")[31..]));
        foreach (var line in filtered)
        {
            var span = line.GetProperty("matches")[0];
            Assert.Equal("err", line.Str("message")[span[0].GetInt32()..span[1].GetInt32()], ignoreCase: true);
        }
        Assert.Single(_api.Streams.ListStreams());
    }

    [Fact]
    public async Task FilteredTail_FromTheBuffer_IsTheNewestMatchingLines()
    {
        for (var i = 1; i <= 50; i++)
            _api.Containers.Write(i % 2 == 0 ? $"n={i} even" : $"n={i} odd");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=3&timestamps=false&filter=even&progress=true");
        var frames = new List<JsonElement>();
        while (frames.Count(f => f.Type() == "log") < 3)
            frames.Add((await Frames.Next(socket))!.Value);
        Assert.Equal(["n=46 even", "n=48 even", "n=50 even"], frames.Where(f => f.Type() == "log").Select(f => f.Str("message")));
        var progress = Assert.Single(frames, f => f.Type() == "scan_progress");
        Assert.Equal("done", progress.Str("state"));
        Assert.Equal(3, progress.GetProperty("found").GetInt32());
        _api.Containers.Write("n=51 odd");
        _api.Containers.Write("n=52 even");
        Assert.Equal("n=52 even", (await Logs(socket, 1))[0].Str("message"));
    }

    [Fact]
    public async Task Levels_And_Stream_AreAppliedTogether()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0&timestamps=false&levels=error,critical&stream=stdout");
        await WaitForSubscribers(1);
        var now = LogTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        _api.Containers.Append(new SourceRecord(now, false, OutputStream.Stdout, "INFO all good", LogSeverity.Info));
        _api.Containers.Append(new SourceRecord(now, false, OutputStream.Stderr, "ERROR broken", LogSeverity.Error));
        _api.Containers.Append(new SourceRecord(now, false, OutputStream.Stdout, "CRITICAL on fire", LogSeverity.Critical));
        Assert.Equal(["CRITICAL on fire"], (await Logs(socket, 1)).Select(f => f.Str("message")));
    }

    [Theory]
    [InlineData("filter=(", "filter")]
    [InlineData("exclude=(a)\\1", "exclude")]
    [InlineData("levels=info,shouty", "levels")]
    [InlineData("stream=both", "stream")]
    [InlineData("since=tomorrow", "since")]
    [InlineData("since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z", "until")]
    [InlineData("progress=maybe", "progress")]
    public async Task BadQueryParameter_IsInvalidParameter_NamingIt_BeforeTheSourceIsAsked(string query, string parameter)
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&{query.Replace("\\", "%5C", StringComparison.Ordinal)}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames, f => f.Type() == "error");
        Assert.Equal("invalid_parameter", error.Str("code"));
        Assert.Equal(parameter, error.Str("parameter"));
        Assert.Equal((WebSocketCloseStatus)4400, status);
        Assert.Equal(0, _api.Containers.OpenReads);
    }

    [Fact]
    public async Task SinceUntil_HistoryOnly_FromTheSource_IsExactlyTheRange()
    {
        var start = LogTimestamp.FromDateTimeOffset(DateTimeOffset.Parse("2024-05-01T14:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        for (var i = 0; i < 100; i++)
            _api.Containers.Write($"n={i}", new LogTimestamp(start.UnixNanoseconds + i * 1_000_000_000L));
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&timestamps=false&since=2024-05-01T14:00:10Z&until=2024-05-01T14:00:19Z");
        var (frames, _, _) = await Frames.UntilClosed(socket);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"n={i}"), frames.Where(f => f.Type() == "log").Select(f => f.Str("message")));
        Assert.Equal("complete", frames[^1].Type());
    }
}
