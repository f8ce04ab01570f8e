using System.Net.Http.Json;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// Docker's read of a service's logs without <c>follow</c> can stop in the middle and never end when the service's
/// tasks change while it runs (seen here on dockerd 20.10: a scale during the read stops it about one time in three,
/// part of one task's lines missing; moby/moby#38640, docker/cli#4678). Unanswered, a client waited for the open
/// timeout and got <c>upstream_unavailable</c> with the lines it had so far. The service reader now takes a read that
/// gives nothing for <c>Docker:ServiceReadStallTimeout</c> as stalled and reads again, skipping each task's lines it
/// already gave, so every read ends with every line, none twice.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class ServiceReadStallTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Tail = 1000;
    private const int BusyLines = 3000;
    private const int Reads = 12;

    /// <summary>Slots 1 and 2 are busy; slots added by the scales write one line each.</summary>
    private static readonly string Script =
        $"case $SLOT in 1|2) n={BusyLines} ;; *) n=1 ;; esac; seq $n | sed \"s/^/slot=$SLOT n=/\"; exec sleep 100000";

    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        // Short, so a stalled read costs the test 2 s, not the default's 10.
        _service = await ServiceProcess.StartOnAsync(_endpoint, new Dictionary<string, string> { ["Docker:ServiceReadStallTimeout"] = "00:00:02" });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task HistoryWhileTheServiceScales_EveryReadEnds_WithEveryLineOfTheBusyTasksOnce()
    {
        var name = DockerCli.UniqueName("stall");
        await DockerCli.RunAsync(_endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", "2",
            "--no-resolve-image", "--stop-grace-period", "1s", "--env", "SLOT={{.Task.Slot}}", DockerCli.Image, "sh", "-c", Script);
        await using var service = await TestService.FromNameAsync(_endpoint, name);
        await Eventually.True(async () =>
        {
            var lines = await DockerCli.RunAsync(_endpoint, "service", "logs", "--raw", "--tail", "1", name);
            return lines.Contains($"slot=1 n={BusyLines}", StringComparison.Ordinal) && lines.Contains($"slot=2 n={BusyLines}", StringComparison.Ordinal);
        }, "both busy tasks wrote all their lines", TimeSpan.FromSeconds(90));
        using (var http = _service.AdminClient())
            (await http.PutAsJsonAsync("/admin/flags/service", new { unified = true })).EnsureSuccessStatusCode();
        var expected = Enumerable.Range(1, 2).SelectMany(slot => Enumerable.Range(BusyLines - Tail + 1, Tail).Select(n => $"slot={slot} n={n}"))
            .Order(StringComparer.Ordinal).ToList();

        for (var i = 0; i < Reads; i++)
        {
            // The scale (3 and 4 replicas in turn, so tasks come and go) reaches the daemon at a different point of each
            // read: the CLI takes a while to send it, and the read starts a little later each time.
            var scale = service.ScaleAsync(3 + (i % 2));
            await Task.Delay(TimeSpan.FromMilliseconds(15 * i));
            using var socket = await _service.ConnectAsync($"/api/v1/services/{name}/logs?host_id=local&tail={Tail}&follow=false&timestamps=false");
            var frames = await WsFrames.UntilClosedAsync(socket, TimeSpan.FromSeconds(60));
            await scale;
            var last = frames[^1];
            Assert.True(last.GetProperty("type").GetString() == "complete", $"Read {i} ended with {last} ({socket.CloseStatus} {socket.CloseStatusDescription}).");
            var busy = frames.Where(f => f.GetProperty("type").GetString() == "log" && !f.TryGetProperty("gap", out _))
                .Select(f => f.GetProperty("data").GetString()!)
                .Where(l => l.StartsWith("slot=1 ", StringComparison.Ordinal) || l.StartsWith("slot=2 ", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
            Assert.True(expected.SequenceEqual(busy), $"Read {i}: {busy.Count} busy lines ({busy.Distinct().Count()} distinct), expected {expected.Count}.");
        }
        // Whether Docker stalled in this run is up to its timing (about one read in three here): said, not asserted.
        var stalls = _service.Output.Split('\n').Count(l => l.Contains("without follow gave nothing for", StringComparison.Ordinal));
        output.WriteLine($"MEASURED service read stalls: {stalls} of {Reads} reads stalled and were read again");
    }
}
