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
    private const int PerReplica = 40;

    [Fact]
    public async Task FilteredTail_TwoReplicasAtDifferentPaces_EveryMatchingLineOnce()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var process = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            ["Pipeline:ReplayEntries"] = "5",
            ["Streaming:MaxTail"] = "200",
            ["Query:ScanInitialWindow"] = "00:00:01",
        });
        // Slot 1 writes its lines at once; slot 2 one every 50 ms, so its last five are seconds newer than slot 1's.
        var name = DockerCli.UniqueName("seam");
        await DockerCli.RunAsync(endpoint, "service", "create", "-d", "--quiet", "--name", name, "--replicas", "2", "--env", "SLOT={{.Task.Slot}}",
            "--no-resolve-image", "--stop-grace-period", "1s", DockerCli.Image, "sh", "-c",
            $"i=0; while [ $i -lt {PerReplica} ]; do i=$((i+1)); echo \"slot=$SLOT n=$i needle\"; [ \"$SLOT\" = 2 ] && sleep 0.05; done; sleep 1000");
        await using var service = await TestService.FromNameAsync(endpoint, name);
        await Eventually.True(async () =>
        {
            var logs = await DockerCli.RunAsync(endpoint, "service", "logs", "--raw", name);
            return logs.Contains($"slot=1 n={PerReplica} needle", StringComparison.Ordinal) && logs.Contains($"slot=2 n={PerReplica} needle", StringComparison.Ordinal);
        }, "both replicas to write their lines");

        using var socket = await process.ConnectAsync($"/api/v1/services/{name}/logs?host_id=local&tail={2 * PerReplica}&timestamps=false&filter=needle&progress=true");
        var (lines, progress) = await QueryFramesReader.ReadAsync(socket, 2 * PerReplica);

        var seen = lines.Select(Line).ToList();
        var expected = Enumerable.Range(1, PerReplica).SelectMany(n => new[] { $"slot=1 n={n}", $"slot=2 n={n}" }).Order().ToList();
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
