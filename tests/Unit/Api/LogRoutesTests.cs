using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Api;

public sealed class LogRoutesTests : IAsyncLifetime
{
    private readonly ApiFactory _api = new();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string Viewer => ApiFactory.Token();

    /// <summary>`connected` is sent before the subscription attaches: wait for it before writing live lines.</summary>
    private Task WaitForSubscribers(int count) =>
        Eventually.True(() => _api.Streams.ListStreams().Sum(s => s.Subscribers) == count, $"{count} subscribers to attach");

    [Fact]
    public async Task Container_FollowFalse_SendsConnectedHistoryCompleteAndClosesNormally()
    {
        for (var i = 1; i <= 5; i++)
            _api.Containers.Write($"line {i}");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=3&follow=false&timestamps=false&unknown_extra=ignored");
        var (frames, status, _) = await Frames.UntilClosed(socket);

        Assert.Equal(["connected", "log", "log", "log", "complete"], frames.Select(f => f.Type()));
        var logs = frames.Where(f => f.Type() == "log").ToList();
        Assert.Equal(["line 3", "line 4", "line 5"], logs.Select(f => f.Str("data")));
        Assert.Equal(["line 3", "line 4", "line 5"], logs.Select(f => f.Str("message")));
        Assert.All(logs, f =>
        {
            Assert.Equal("container", f.Str("source_type"));
            Assert.Equal("web-1", f.Str("source_id"));
            Assert.Equal("info", f.Str("level"));
            Assert.EndsWith("Z", f.Str("timestamp"));
        });
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal(0, _api.Containers.LiveOpens);
    }

    [Fact]
    public async Task Container_TimestampsDefaultTrue_PrefixesTextWithRfc3339Timestamp()
    {
        var record = _api.Containers.Write("hello");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&follow=false");
        var (frames, _, _) = await Frames.UntilClosed(socket);
        var log = Assert.Single(frames, f => f.Type() == "log");
        Assert.Equal($"{record.Timestamp.ToRfc3339()} hello", log.Str("data"));
        Assert.Equal(record.Timestamp.ToRfc3339(), log.Str("timestamp"));
    }

    [Fact]
    public async Task Container_Follow_StreamsLiveLinesWithSequenceNumbers()
    {
        _api.Containers.Write("before");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=1");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        Assert.EndsWith("Z before", (await Frames.Next(socket))!.Value.Str("message"));
        _api.Containers.Write("live");
        var live = (await Frames.Next(socket))!.Value;
        Assert.Equal("log", live.Type());
        Assert.EndsWith(" live", live.Str("data"));
        Assert.Equal(2, live.GetProperty("seq").GetInt64());
        Assert.False(string.IsNullOrEmpty(live.Str("epoch")));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
    }

    [Fact]
    public async Task ClientMessages_AreReadAndIgnoredThenItsCloseEndsTheSession()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        await WaitForSubscribers(1);
        // Larger than the receive buffer, with multi-byte characters across its chunk boundaries.
        var message = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("héllo wörld ✓ ", 700)));
        await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        await socket.SendAsync(new byte[5000], WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        _api.Containers.Write("still streaming");
        Assert.EndsWith(" still streaming", (await Frames.Next(socket))!.Value.Str("data"));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task Container_ResumeParameter_ContinuesAfterLastSeenLine()
    {
        using var keeper = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0");
        await Frames.Next(keeper);
        await WaitForSubscribers(1);
        for (var i = 1; i <= 4; i++)
            _api.Containers.Write($"line {i}");
        var seen = new List<JsonElement>();
        for (var i = 0; i < 4; i++)
            seen.Add((await Frames.Next(keeper))!.Value);
        var epoch = seen[1].Str("epoch");
        _api.Containers.Write("line 5");

        using var resumed = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&timestamps=false&resume={epoch}:2");
        Assert.Equal("connected", (await Frames.Next(resumed))!.Value.Type());
        Assert.Equal(["line 3", "line 4", "line 5"], [(await Frames.Next(resumed))!.Value.Str("data"), (await Frames.Next(resumed))!.Value.Str("data"), (await Frames.Next(resumed))!.Value.Str("data")]);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("expired")]
    [InlineData("bad-signature")]
    [InlineData("refresh")]
    [InlineData("no-role")]
    [InlineData("garbage")]
    public async Task Container_BadToken_ErrorFrameThenClose1008AndNoUpstream(string kind)
    {
        var (token, code) = kind switch
        {
            "missing" => ("", "unauthorized"),
            "expired" => (ApiFactory.Token(expiresIn: TimeSpan.FromMinutes(-5)), "token_expired"),
            "bad-signature" => (ApiFactory.Token(key: "another-signing-key-that-is-also-long-enough"), "token_invalid"),
            "refresh" => (ApiFactory.Token(type: "refresh"), "token_not_access"),
            "no-role" => (ApiFactory.Token(role: "guest"), "forbidden"),
            _ => ("not.a.jwt", "token_invalid"),
        };
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={token}");
        var (frames, status, reason) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames);
        Assert.Equal("error", error.Type());
        Assert.Equal(code, error.Str("code"));
        Assert.Equal((WebSocketCloseStatus)1008, status);
        Assert.False(string.IsNullOrEmpty(reason));
        Assert.Equal(0, _api.Streams.StreamCount);
        Assert.Empty(_api.Containers.Starts);
    }

    [Fact]
    public async Task Container_TokenInAuthorizationHeader_IsAccepted()
    {
        using var socket = await _api.Connect("/ws/containers/web-1/logs?follow=false", bearer: Viewer);
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal(["connected", "complete"], frames.Select(f => f.Type()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task Container_ForeignOrigin_Refused1008()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}", origin: "https://evil.example");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("origin_not_allowed", Assert.Single(frames).Str("code"));
        Assert.Equal((WebSocketCloseStatus)1008, status);
    }

    [Theory]
    [InlineData("/ws/containers/web-1/logs?tail=-1", "tail")]
    [InlineData("/ws/containers/web-1/logs?tail=abc", "tail")]
    [InlineData("/ws/containers/web-1/logs?tail=501", "tail")]
    [InlineData("/ws/containers/web-1/logs?follow=maybe", "follow")]
    [InlineData("/ws/containers/web-1/logs?timestamps=yes", "timestamps")]
    [InlineData("/ws/containers/web-1/logs?host_id=bad%20host", "host_id")]
    [InlineData("/ws/containers/web-1/logs?resume=zz:1", "resume")]
    [InlineData("/ws/containers/web-1/logs?format=xml", "format")]
    [InlineData("/ws/containers/we%24b/logs?", "path")]
    [InlineData("/ws/containers/-web/logs?", "path")]
    [InlineData("/api/v1/services/api/logs?", "host_id")]
    public async Task BadParameter_InvalidParameterFrameThenClose4400AndNoUpstream(string pathAndQuery, string parameter)
    {
        using var socket = await _api.Connect($"{pathAndQuery}&token={Viewer}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames);
        Assert.Equal("invalid_parameter", error.Str("code"));
        Assert.Equal(parameter, error.Str("parameter"));
        Assert.Equal((WebSocketCloseStatus)4400, status);
        Assert.Empty(_api.Containers.Starts);
        Assert.Equal(0, _api.Streams.StreamCount);
    }

    [Fact]
    public async Task BatchFormat_GathersLinesIntoBatchFramesOfLogObjects()
    {
        for (var i = 1; i <= 10; i++)
            _api.Containers.Write($"line {i}");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=10&follow=false&timestamps=false&format=batch");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("connected", frames[0].Type());
        Assert.Equal("complete", frames[^1].Type());
        var batches = frames.Where(f => f.Type() == "batch").ToList();
        Assert.NotEmpty(batches);
        var entries = batches.SelectMany(b => b.GetProperty("entries").EnumerateArray()).ToList();
        Assert.Equal(batches.Sum(b => b.GetProperty("count").GetInt32()), entries.Count);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"line {i}"), entries.Select(e => e.Str("data")));
        Assert.All(entries, e => Assert.Equal("log", e.Type()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task AbsurdlyLongId_Refused4400()
    {
        using var socket = await _api.Connect($"/ws/containers/{new string('a', 300)}/logs?token={Viewer}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("path", Assert.Single(frames).Str("parameter"));
        Assert.Equal((WebSocketCloseStatus)4400, status);
    }

    [Fact]
    public async Task UnknownHost_UnknownHostFrameThenClose4404()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&host_id=nowhere");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("unknown_host", Assert.Single(frames).Str("code"));
        Assert.Equal((WebSocketCloseStatus)4404, status);
    }

    [Fact]
    public async Task UnknownContainer_NotFoundFrameThenClose4404AndNoUpstream()
    {
        _api.Containers.UnknownResources.Add("ghost");
        using var socket = await _api.Connect($"/ws/containers/ghost/logs?token={Viewer}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames);
        Assert.Equal("not_found", error.Str("code"));
        Assert.Contains("ghost", error.Str("message"));
        Assert.Equal((WebSocketCloseStatus)4404, status);
        Assert.Equal(0, _api.Streams.StreamCount);
    }

    [Fact]
    public async Task Service_OnHostThatIsNotAManager_NotSupportedWithTheDaemonsReason()
    {
        _api.ServiceSource.FailHistory(new LogSourceException(LogSourceErrorKind.NotSupported, "This node is not a swarm manager."));
        using var socket = await _api.Connect($"/api/v1/services/api/logs?token={Viewer}&host_id=other");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal(["connected", "error"], frames.Select(f => f.Type()));
        Assert.Equal("not_supported", frames[1].Str("code"));
        Assert.Equal("This node is not a swarm manager.", frames[1].Str("message"));
        Assert.Equal((WebSocketCloseStatus)4422, status);
        await Eventually.True(() => _api.Streams.StreamCount == 0, "the failed stream to be removed");
    }

    [Theory]
    [InlineData("/ws/hosts/local/logs")]
    [InlineData("/ws/daemon/local/logs")]
    [InlineData("/ws/stacks/shop/logs")]
    public async Task RoutesWithoutSourceYet_NotImplementedFrameThenClose4501(string path)
    {
        using var socket = await _api.Connect($"{path}?token={Viewer}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("not_implemented", Assert.Single(frames).Str("code"));
        Assert.Equal((WebSocketCloseStatus)4501, status);
    }

    [Fact]
    public async Task UpstreamFaultMidStream_ErrorFrameThenClose()
    {
        _api.Containers.Write("one");
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&timestamps=false");
        await Frames.Next(socket);
        Assert.Equal("one", (await Frames.Next(socket))!.Value.Str("data"));
        // "one" came from the history read; break the live read only once it is open (a read that opens later starts clean).
        await Eventually.True(() => _api.Containers.LiveOpens == 1, "the live read to open");
        _api.Containers.BreakLiveReads(new LogSourceException(LogSourceErrorKind.Failed, "the daemon said no"));
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = Assert.Single(frames);
        Assert.Equal("upstream_failed", error.Str("code"));
        Assert.Equal(WebSocketCloseStatus.InternalServerError, status);
    }

    [Fact]
    public async Task SourceEnds_DisconnectedFrameThenNormalClose()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}");
        await Frames.Next(socket);
        _api.Containers.End();
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("disconnected", Assert.Single(frames).Type());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }

    [Fact]
    public async Task ManyClients_ShareOneUpstream()
    {
        var sockets = new List<WebSocket>();
        for (var i = 0; i < 20; i++)
        {
            var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}&tail=0");
            Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
            sockets.Add(socket);
        }
        await WaitForSubscribers(20);
        _api.Containers.Write("to all");
        foreach (var socket in sockets)
            Assert.EndsWith("to all", (await Frames.Next(socket))!.Value.Str("data"));
        Assert.Equal(1, _api.Containers.LiveOpens);
        foreach (var socket in sockets)
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Token_NeverAppearsInAnyLogLine()
    {
        var token = Viewer;
        using (var socket = await _api.Connect($"/ws/containers/web-1/logs?token={token}&follow=false"))
            await Frames.UntilClosed(socket);
        using (var socket = await _api.Connect($"/ws/containers/web-1/logs?token={token}x"))
            await Frames.UntilClosed(socket);
        Assert.NotEmpty(_api.LogLines);
        Assert.DoesNotContain(_api.LogLines, line => line.Contains(token[..40], StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotAWebSocketRequest_400()
    {
        var response = await _api.CreateClient().GetAsync("/ws/containers/web-1/logs");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_Alive()
    {
        var response = await _api.CreateClient().GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AdminStreams_RefusesNonAdminsAndListsStreamsForAdmins()
    {
        using var socket = await _api.Connect($"/ws/containers/web-1/logs?token={Viewer}");
        await Frames.Next(socket);
        await WaitForSubscribers(1);
        var http = _api.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/admin/streams")).StatusCode);
        var asViewer = new HttpRequestMessage(HttpMethod.Get, "/admin/streams");
        asViewer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(asViewer)).StatusCode);

        var asAdmin = new HttpRequestMessage(HttpMethod.Get, "/admin/streams");
        asAdmin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        var response = await http.SendAsync(asAdmin);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var stream = Assert.Single(body.GetProperty("streams").EnumerateArray());
        Assert.Equal("web-1", stream.GetProperty("key").GetProperty("source_id").GetString());
        Assert.Equal(1, stream.GetProperty("subscribers").GetInt32());
        Assert.Equal(1, body.GetProperty("sessions").GetInt32());
    }
}

public sealed class HeartbeatTests
{
    [Fact]
    public async Task IdleStream_SendsHeartbeatFrames()
    {
        await using var api = new ApiFactory(s => s["Streaming:HeartbeatInterval"] = "00:00:01");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=0");
        Assert.Equal("connected", (await Frames.Next(socket))!.Value.Type());
        var heartbeat = (await Frames.Next(socket))!.Value;
        Assert.Equal("heartbeat", heartbeat.Type());
        Assert.True(heartbeat.TryGetProperty("timestamp", out _));
        var second = (await Frames.Next(socket))!.Value;
        Assert.Equal("heartbeat", second.Type());
    }
}

public sealed class BatchTests
{
    [Fact]
    public async Task BatchFormat_SplitsFramesAtMaxBatchBytesKeepingEveryLineInOrder()
    {
        await using var api = new ApiFactory(s => s["Streaming:MaxBatchBytes"] = "1024");
        var lines = Enumerable.Range(1, 300).Select(i => $"line {i} {new string('x', 40 + i % 50)}").ToList();
        foreach (var line in lines)
            api.Containers.Write(line);
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&tail=300&follow=false&timestamps=false&format=batch");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var batches = frames.Where(f => f.Type() == "batch").ToList();
        Assert.True(batches.Count > 10, $"{batches.Count} batch frames");
        Assert.All(batches, b => Assert.True(b.GetRawText().Length < 1024 + 512, $"a batch frame of {b.GetRawText().Length} bytes"));
        var entries = batches.SelectMany(b => b.GetProperty("entries").EnumerateArray()).ToList();
        Assert.Equal(batches.Sum(b => b.GetProperty("count").GetInt32()), entries.Count);
        Assert.Equal(lines, entries.Select(e => e.Str("data")));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
    }
}

public sealed class FaultTests
{
    [Fact]
    public async Task UnexpectedSourceFault_ErrorFrameInternalErrorThenClose1011()
    {
        await using var api = new ApiFactory();
        api.Containers.Write("one");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&timestamps=false");
        await Frames.Next(socket);
        Assert.Equal("one", (await Frames.Next(socket))!.Value.Str("data"));
        // "one" came from the history read; break the live read only once it is open (a read that opens later starts clean).
        await Eventually.True(() => api.Containers.LiveOpens == 1, "the live read to open");
        api.Containers.BreakLiveReads(new InvalidOperationException("a bug in a source"));
        var (frames, status, _) = await Frames.UntilClosed(socket);
        Assert.Equal("internal_error", Assert.Single(frames).Str("code"));
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.InternalServerError, status);
    }

    [Fact]
    public async Task HistoryOnlyWithResumeAndNoLiveStream_SaysLinesMayBeMissing()
    {
        await using var api = new ApiFactory();
        api.Containers.Write("one");
        using var socket = await api.Connect($"/ws/containers/web-1/logs?token={ApiFactory.Token()}&follow=false&resume=abcdef12:5");
        var (frames, _, _) = await Frames.UntilClosed(socket);
        Assert.Equal(["connected", "log", "log", "complete"], frames.Select(f => f.Type()));
        Assert.Equal("stream_restarted", frames[1].GetProperty("gap").GetProperty("reason").GetString());
    }
}
