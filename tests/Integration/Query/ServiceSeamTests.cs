using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// The backward scan's hand-over to the replay buffer on a real 2-replica service: the buffer holds each task's newest
/// lines (Docker's tail counts per task), and one replica wrote seconds after the other, so each task's part of the
/// buffer begins at another time. Every older line must be found once: none lost where a task's part begins, none repeated.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class ServiceSeamTests
{
    private const int PerReplica = 100;
    private const int Needles = 20;

    [Fact]
    public async Task FilteredTail_TwoReplicasAtDifferentPaces_EveryMatchingLineOnce()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var process = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            ["Pipeline:ReplayEntries"] = "50",
            ["Streaming:MaxTail"] = "50",
            ["Streaming:DefaultTail"] = "50",
            ["Query:ScanInitialWindow"] = "00:00:01",
        });
        // Each replica writes 20 matching lines, then 80 others; the buffer keeps each task's newest 50. Slot 1 writes at
        // once, slot 2 one line every 20 ms: its part of the buffer begins about a second after slot 1's, and its
        // matching lines are older than its part but newer than the buffer's oldest line.
        var name = DockerCli.UniqueName("seam");
        await DockerCli.RunAsync(endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", "2", "--env", "SLOT={{.Task.Slot}}",
            "--no-resolve-image", "--stop-grace-period", "1s", DockerCli.Image, "sh", "-c",
            $"i=0; while [ $i -lt {PerReplica} ]; do i=$((i+1)); if [ $i -le {Needles} ]; then w=needle; else w=hay; fi; " +
            $"echo \"slot=$SLOT n=$i $w\"; if [ \"$SLOT\" = 2 ]; then sleep 0.02; fi; done; sleep 1000");
        await using var service = await TestService.FromNameAsync(endpoint, name);
        await Eventually.True(async () =>
        {
            var logs = await DockerCli.RunAsync(endpoint, "service", "logs", "--raw", name);
            return logs.Contains($"slot=1 n={PerReplica} hay", StringComparison.Ordinal) && logs.Contains($"slot=2 n={PerReplica} hay", StringComparison.Ordinal);
        }, "both replicas to write their lines");

        // Asks for more than there are (40): the scan reaches the log's beginning and every matching line comes once.
        using var socket = await process.ConnectAsync($"/api/v1/services/{name}/logs?host_id=local&tail=50&timestamps=false&filter=needle&progress=true");
        var (lines, progress) = await QueryFramesReader.ReadAsync(socket, 2 * Needles);

        var seen = lines.Select(Line).ToList();
        var expected = Enumerable.Range(1, Needles).SelectMany(n => new[] { $"slot=1 n={n}", $"slot=2 n={n}" }).Order().ToList();
        Assert.Equal(expected, seen.Order().ToList());
        Assert.Equal("done", progress[^1].GetProperty("state").GetString());
        await WsFrames.CloseQuietlyAsync(socket);
    }

    private static string Line(JsonElement log)
    {
        var text = log.GetProperty("message").GetString()!;
        var at = text.IndexOf("slot=", StringComparison.Ordinal);
        return text[at..text.IndexOf(" needle", StringComparison.Ordinal)];
    }
}
