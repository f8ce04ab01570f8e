using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using LogsMigration.Api.Query;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Tests.Unit.Api;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace LogsMigration.Tests.Unit.Query;

/// <summary>The download endpoint through the API, against a fake source: its status before the first line, its limits, its tokens.</summary>
public sealed class DownloadRouteTests : IAsyncLifetime
{
    private readonly ApiFactory _api = new(c =>
    {
        c["Query:MaxConcurrentDownloads"] = "3";
        c["Query:MaxConcurrentDownloadsPerUser"] = "2";
        c["Query:DownloadFirstByteTimeout"] = "00:00:00.200";
    });

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _api.DisposeAsync();

    private async Task<HttpResponseMessage> Download(string pathAndQuery, string? subject = "user-1")
    {
        using var http = _api.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (subject is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(subject: subject));
        return await http.SendAsync(request);
    }

    private static async Task<string> Code(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString()!;

    [Fact]
    public async Task Download_DockerDownBeforeTheFirstLine_AnswersItsStatusWithTheJsonError()
    {
        _api.Containers.FailHistory(new LogSourceException(LogSourceErrorKind.Unavailable, "Docker host 'local' is not reachable."));
        using var response = await Download("/api/v1/logs/container/web-1/download");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream_unavailable", await Code(response));
        Assert.Null(response.Content.Headers.ContentDisposition);
    }

    [Fact]
    public async Task Download_ResourceGoneWhenReadBegins_Answers404NotFound()
    {
        _api.Containers.FailHistory(new LogSourceException(LogSourceErrorKind.NotFound, "No such container: web-1"));
        using var response = await Download("/api/v1/logs/container/web-1/download?format=ndjson");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", await Code(response));
    }

    [Fact]
    public async Task Download_Lines_200WithTheFileNameReadableByTheHeader()
    {
        _api.Containers.Write("one err");
        _api.Containers.Write("two ok");
        using var response = await Download("/api/v1/logs/container/web-1/download?filter=err");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("container-web-1_", response.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var body = await response.Content.ReadAsStringAsync();
        Assert.EndsWith(" one err\n", body);
        Assert.DoesNotContain("two ok", body);
    }

    [Fact]
    public async Task Download_OverThePerUserBound_429TooManyDownloads_OtherUserServed()
    {
        var limiter = _api.Services.GetRequiredService<DownloadLimiter>();
        // Two downloads of user-1 running (held as the endpoint holds them while it streams).
        using var first = limiter.TryEnter("user-1", out _);
        using var second = limiter.TryEnter("user-1", out _);
        Assert.NotNull(second);

        using var refused = await Download("/api/v1/logs/container/web-1/download");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("too_many_downloads", await Code(refused));

        using var other = await Download("/api/v1/logs/container/web-1/download", subject: "user-2");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        // The instance bound (3): user-2's finished download gave its slot back, a third of anyone's is now refused.
        using var third = limiter.TryEnter("user-3", out _);
        Assert.NotNull(third);
        using var overInstance = await Download("/api/v1/logs/container/web-1/download", subject: "user-4");
        Assert.Equal(HttpStatusCode.TooManyRequests, overInstance.StatusCode);
        Assert.Equal(3, limiter.Running);
    }

    [Fact]
    public async Task Download_TokenInTheQuery_Accepted()
    {
        using var http = _api.CreateClient();
        using var response = await http.GetAsync($"/api/v1/logs/container/web-1/download?token={ApiFactory.Token()}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> StartDownload(HttpClient http, string pathAndQuery, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(subject: "user-1"));
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    [Fact]
    public async Task Download_NoLineBeforeTheFirstByteDeadline_Answers200ThenGoesOnWithTheLines()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Containers.HistoryGate = gate.Task;
        _api.Containers.Write("late err");
        using var http = _api.CreateClient();
        using var waiting = new CancellationTokenSource(Eventually.DefaultTimeout);

        // The read gives nothing (the gate is shut): the headers come at the deadline, not with a first line.
        using var response = await StartDownload(http, "/api/v1/logs/container/web-1/download?filter=err", waiting.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Content.Headers.ContentDisposition);
        gate.SetResult();
        var body = await response.Content.ReadAsStringAsync(waiting.Token);
        Assert.EndsWith(" late err\n", body);
    }

    [Fact]
    public async Task Download_ErrorAfterTheDeadline_IsTheFilesLastLine()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Containers.HistoryGate = gate.Task;
        using var http = _api.CreateClient();
        using var waiting = new CancellationTokenSource(Eventually.DefaultTimeout);

        using var response = await StartDownload(http, "/api/v1/logs/container/web-1/download?format=ndjson", waiting.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        gate.SetException(new LogSourceException(LogSourceErrorKind.Unavailable, "Docker host 'local' is not reachable."));
        var body = await response.Content.ReadAsStringAsync(waiting.Token);
        Assert.Contains("upstream_unavailable", body.TrimEnd('\n').Split('\n')[^1]);
    }

    [Fact]
    public async Task Download_ClientAbortsMidDownload_SlotComesBack()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Containers.HistoryGate = gate.Task;
        var limiter = _api.Services.GetRequiredService<DownloadLimiter>();
        using var http = _api.CreateClient();
        using var aborting = new CancellationTokenSource(Eventually.DefaultTimeout);

        var response = await StartDownload(http, "/api/v1/logs/container/web-1/download", aborting.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, limiter.Running);
        // The client goes away while the download waits for lines.
        await aborting.CancelAsync();
        response.Dispose();

        await Eventually.True(() => limiter.Running == 0, "the aborted download's slot is given back");
    }
}
