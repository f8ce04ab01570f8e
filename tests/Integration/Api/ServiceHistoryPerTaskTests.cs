using System.Net.Http.Json;
using System.Text.Json;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// "Service history drops whole tasks" (issue 10): Docker counts a service's <c>tail</c> per task, so
/// <c>docker service logs --tail 100</c> of a service with a quiet replica, two busy ones and a task that already
/// exited gives 100 lines of each busy task and every line of the quiet and the exited one. Both paths must give
/// exactly those lines. The unified path serves a joining client's history from the stream's replay ring, which
/// kept the newest <c>Pipeline:ReplayEntries</c> lines of all tasks together, so the quiet replica's and the exited
/// task's older lines were evicted by the busy ones and silently missing; the stream now keeps each task's newest
/// lines apart (<c>PartitionTails</c>).
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class ServiceHistoryPerTaskTests : IAsyncLifetime
{
    private const int Tail = 100;
    private const int QuietLines = 5;
    private const int BusyLines = 3000;
    private const int ExitedLines = 20;

    /// <summary>
    /// Slot 1 is quiet, slots 2 and 3 busy, slot 4 writes and exits 0 (its task stays Complete: restarts only on
    /// failure). Each line names its slot, so every line of the service is distinct. Slots added later write one
    /// line: the sentinel that tells a followed history's end.
    /// </summary>
    private static readonly string Script =
        "case $SLOT in " +
        $"1) n={QuietLines} ;; 2|3) n={BusyLines} ;; 4) n={ExitedLines} ;; *) n=1 ;; esac; " +
        "seq $n | sed \"s/^/slot=$SLOT n=/\"; " +
        "if [ $SLOT = 4 ]; then exit 0; fi; exec sleep 100000";

    private const int Slots = 4;

    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(90);

    private string _endpoint = "";
    private ServiceProcess _service = null!;

    public async Task InitializeAsync()
    {
        _endpoint = TestEngines.Endpoint(TestEngines.Main);
        _service = await ServiceProcess.StartOnAsync(_endpoint);
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Tail100_QuietBusyAndExitedTasks_BothPathsGiveTheLinesOfDockerServiceLogs()
    {
        var name = DockerCli.UniqueName("pertask");
        await DockerCli.RunAsync(_endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--no-resolve-image", "--stop-grace-period", "1s", "--restart-condition", "on-failure", "--env", "SLOT={{.Task.Slot}}",
            DockerCli.Image, "sh", "-c", Script);
        await using var service = await TestService.FromNameAsync(_endpoint, name);
        // Docker's own answer, once every task has written all it will write.
        var expected = await ExpectedAsync(name);
        Assert.Equal(QuietLines + Tail + Tail + ExitedLines, expected.Count);

        var legacy = await HistoryAsync(service, unified: false);
        var unifiedRead = await HistoryAsync(service, unified: true);
        var unifiedFollowed = await FollowedHistoryAsync(service, sentinelSlot: Slots + 1);

        Assert.Equal(Summary(expected), Summary(legacy));
        Assert.Equal(expected, legacy);
        // Without a live stream, follow=false reads Docker directly.
        Assert.Equal(expected, unifiedRead);
        // The client that opens the shared stream gets its history from the replay ring.
        Assert.Equal(Summary(expected), Summary(unifiedFollowed));
        Assert.Equal(expected, unifiedFollowed);
    }

    /// <summary>A client with <c>follow=false</c>: the history, then <c>complete</c>.</summary>
    private async Task<List<string>> HistoryAsync(TestService service, bool unified)
    {
        await SetPathAsync(unified);
        using var socket = await _service.ConnectAsync($"/api/v1/services/{service.Name}/logs?host_id=local&tail={Tail}&follow=false&timestamps=false");
        var frames = await WsFrames.UntilClosedAsync(socket);
        Assert.Equal(unified ? "unified" : "legacy", frames[0].GetProperty("path").GetString());
        Assert.Equal("complete", frames[^1].GetProperty("type").GetString());
        return Sorted(frames.Where(f => f.GetProperty("type").GetString() == "log" && !f.TryGetProperty("gap", out _))
            .Select(f => f.GetProperty("data").GetString()!));
    }

    private async Task<List<string>> ExpectedAsync(string name)
    {
        List<string> lines = [];
        await Eventually.True(async () =>
        {
            lines = Sorted((await DockerCli.RunAsync(_endpoint, "service", "logs", "--raw", "--tail", Tail.ToString(System.Globalization.CultureInfo.InvariantCulture), name))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries));
            return lines.Contains($"slot=1 n={QuietLines}") && lines.Contains($"slot=4 n={ExitedLines}")
                && lines.Contains($"slot=2 n={BusyLines}") && lines.Contains($"slot=3 n={BusyLines}");
        }, "every task's lines in docker service logs", ConvergeTimeout);
        return lines;
    }

    /// <summary>
    /// A unified client that follows the service with <c>tail=100</c>. It opens the shared stream, whose history
    /// (loaded whole before any live line) it gets from the replay ring; a slot added once it is connected writes
    /// the sentinel, the first live line, so the lines before it are the history (the other tasks are silent by
    /// then). Not usable on the legacy path: there Docker's own stream interleaves one task's history with another's
    /// live lines.
    /// </summary>
    private async Task<List<string>> FollowedHistoryAsync(TestService service, int sentinelSlot)
    {
        const bool unified = true;
        await SetPathAsync(unified);
        using var socket = await _service.ConnectAsync($"/api/v1/services/{service.Name}/logs?host_id=local&tail={Tail}&follow=true&timestamps=false");
        var connected = (await WsFrames.NextAsync(socket))!.Value;
        Assert.Equal(("connected", unified ? "unified" : "legacy"), (connected.GetProperty("type").GetString(), connected.GetProperty("path").GetString()));
        await service.ScaleAsync(sentinelSlot);
        var sentinel = $"slot={sentinelSlot} n=1";
        var lines = new List<string>();
        var others = new List<string>();
        while (true)
        {
            var frame = await WsFrames.NextAsync(socket, ConvergeTimeout) ?? throw new InvalidOperationException(
                $"The socket closed ({socket.CloseStatus} {socket.CloseStatusDescription}) before the sentinel '{sentinel}' after {lines.Count} lines ({Summary(lines)}); other frames: {string.Join(" | ", others)}");
            if (frame.GetProperty("type").GetString() != "log" || frame.TryGetProperty("gap", out _))
            {
                others.Add(frame.GetRawText());
                continue;
            }
            var text = frame.GetProperty("data").GetString()!;
            if (text == sentinel)
                break;
            lines.Add(text);
        }
        await WsFrames.CloseQuietlyAsync(socket);
        return Sorted(lines);
    }

    private async Task SetPathAsync(bool unified)
    {
        using var http = _service.AdminClient();
        (await http.PutAsJsonAsync("/admin/flags/service", new { unified })).EnsureSuccessStatusCode();
    }

    /// <summary>Lines per slot, for a failure message that says which tasks lost lines.</summary>
    private static string Summary(IEnumerable<string> lines) =>
        string.Join(", ", lines.GroupBy(l => l[..l.IndexOf(' ')]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}"));

    private static List<string> Sorted(IEnumerable<string> lines) => [.. lines.Order(StringComparer.Ordinal)];
}
