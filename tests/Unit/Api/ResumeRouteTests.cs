using System.Net.WebSockets;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>`resume` on the routes: the cursor of a log frame continues exactly there; a wrong one is refused with 4400.</summary>
public sealed class ResumeRouteTests : IAsyncLifetime
{
    private readonly ApiFactory _api = new();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string Viewer => ApiFactory.Token();

    private async Task<List<System.Text.Json.JsonElement>> LogsOf(string query)
    {
        using var socket = await _api.Connect($"{query}&token={Viewer}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        return frames.Where(f => f.Type() == "log").ToList();
    }

    [Fact]
    public async Task LogFrames_CarryACursor_ResumeWithItGivesTheLinesAfterThatLine()
    {
        for (var i = 1; i <= 6; i++)
            _api.Containers.Write($"line {i}");
        var logs = await LogsOf("/ws/containers/web-1/logs?tail=6&follow=false&timestamps=false");
        Assert.All(logs, f => Assert.Matches("^[A-Za-z0-9_-]{20,4096}$", f.Str("cursor")));
        var cursor = logs[2].Str("cursor");

        var resumed = await LogsOf($"/ws/containers/web-1/logs?follow=false&timestamps=false&resume={cursor}");
        Assert.Equal(["line 4", "line 5", "line 6"], resumed.Select(f => f.Str("message")));
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-cursor")]
    [InlineData("abc!def")]
    public async Task Resume_MalformedCursor_InvalidParameterResumeAnd4400WithNoRead(string cursor)
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&resume={Uri.EscapeDataString(cursor)}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames);
        Assert.Equal("invalid_parameter", error.Str("code"));
        Assert.Equal("resume", error.Str("parameter"));
        Assert.Equal((WebSocketCloseStatus)4400, status);
        Assert.Empty(_api.Containers.Starts);
    }

    [Fact]
    public async Task Resume_CursorOfAnotherContainer_InvalidParameterResumeAnd4400()
    {
        _api.Containers.Write("one line");
        var logs = await LogsOf("/ws/containers/web-1/logs?tail=1&follow=false");
        var cursor = Assert.Single(logs).Str("cursor");
        var reads = _api.Containers.Starts.Count;

        using var socket = await _api.Connect($"/ws/containers/web-2/logs?token={Viewer}&resume={cursor}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames, f => f.Type() == "error");
        Assert.Equal("invalid_parameter", error.Str("code"));
        Assert.Equal("resume", error.Str("parameter"));
        Assert.Contains("another", error.Str("message"));
        Assert.Equal((WebSocketCloseStatus)4400, status);
        Assert.Equal(reads, _api.Containers.Starts.Count);
    }
}
