using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// The backward scan's window reads against the real engines: a service's window ends per task (Docker's service logs
/// have no <c>until</c>, and two nodes' lines come interleaved), and what one scan holds is bounded by
/// <c>Query:ReadMaxBytes</c> while a window of a real container is read.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class WindowReadTests
{
    private const int Needles = 20;

    [Fact]
    public async Task FilteredTail_ServiceOnTwoNodes_WindowEndsPerTask_EveryMatchingLineOfBothOnce()
    {
        var manager = TestEngines.Endpoint(TestEngines.Main);
        var worker = TestEngines.Endpoint(TestEngines.Worker);
        await using var process = await QueryTestBed.StartAsync(replayEntries: 50, new Dictionary<string, string>
        {
            // Lines as the daemon sends them, not put in order: the worker's lines of a window come among the manager's later ones.
            ["Docker:ServiceMergeWindow"] = "00:00:00",
        });
        // One replica per node. Each writes 20 matching lines (slot 2 one every 50 ms), then after a pause 5,000 others at
        // once: the window that holds the matching lines ends in the pause, with thousands of each task's lines after it.
        await using var service = await QueryTestBed.CreateSlottedServiceAsync("window",
            $"i=0; while [ $i -lt {Needles} ]; do i=$((i+1)); echo \"slot=$SLOT n=$i needle\"; if [ \"$SLOT\" = 2 ]; then sleep 0.05; fi; done; sleep 3; " +
            "while [ $i -lt 5020 ]; do i=$((i+1)); echo \"slot=$SLOT n=$i hay\"; done; " +
            "while [ ! -e /go ]; do sleep 0.05; done; echo \"slot=$SLOT n=9999 needle\"; sleep 1000", "--replicas-max-per-node", "1");
        var name = service.Name;
        await Eventually.True(async () =>
        {
            var logs = await DockerCli.RunAsync(manager, "service", "logs", "--raw", name);
            return await RunsHereAsync(manager, name) && await RunsHereAsync(worker, name)
                && logs.Contains("slot=1 n=5020 hay", StringComparison.Ordinal) && logs.Contains("slot=2 n=5020 hay", StringComparison.Ordinal);
        }, "a replica on each node to write its lines", TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500));

        using var socket = await process.ConnectAsync($"/api/v1/services/{name}/logs?host_id=local&tail=50&timestamps=false&filter=needle&progress=true");
        var final = await QueryFramesReader.FinalProgressAsync(socket);
        Assert.Equal("done", final.GetProperty("state").GetString());
        var (lines, _) = await QueryFramesReader.ReadAsync(socket, 2 * Needles);
        var expected = Enumerable.Range(1, Needles).SelectMany(n => new[] { $"slot=1 n={n} needle", $"slot=2 n={n} needle" }).Order();
        Assert.Equal(expected, lines.Select(QueryFramesReader.Message).Order());
        // Nothing more of the history: the next line is the live one written now.
        await QueryTestBed.ExecAsync([manager, worker], name, 1, ": > /go");
        var (next, _) = await QueryFramesReader.ReadAsync(socket, 1);
        Assert.Equal("slot=1 n=9999 needle", QueryFramesReader.Message(next[0]));
        await WsFrames.CloseQuietlyAsync(socket);
    }

    private static async Task<bool> RunsHereAsync(string node, string service) =>
        (await DockerCli.RunAsync(node, "ps", "-q", "--filter", $"label=com.docker.swarm.service.name={service}")).Trim().Length > 0;

    [Fact]
    public async Task FilteredTail_ContainerMatchesOverReadMaxBytes_CappedWithTheNewestThatFit()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var process = await QueryTestBed.StartAsync(replayEntries: 100, new Dictionary<string, string> { ["Query:ReadMaxBytes"] = "32768" });
        // 200 matching lines of a kilobyte each (about 200 KB, far over the scan's 32 KB), then after a pause 150 others
        // the buffer of 100 holds the newest of: the window of the matching lines is bounded while it is read.
        await using var container = await TestContainer.RunAsync(endpoint, "readmax",
            "x=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo \"n=$i needle $x\"; done; sleep 3; " +
            "while [ $i -lt 350 ]; do i=$((i+1)); echo \"n=$i hay\"; done; while [ ! -e /go ]; do sleep 0.05; done; echo \"n=999 needle\"; sleep 1000");
        await QueryTestBed.ContainerLoggedAsync(container, "n=350 hay");

        using var socket = await process.ConnectAsync($"/ws/containers/{container.Name}/logs?tail=100&timestamps=false&filter=needle&progress=true");
        var final = await QueryFramesReader.FinalProgressAsync(socket);
        Assert.Equal("capped", final.GetProperty("state").GetString());
        var found = final.GetProperty("found").GetInt32();
        // Each line costs a few KB held (its text and its frames): some fit, far from all.
        Assert.InRange(found, 1, 99);
        var (lines, _) = await QueryFramesReader.ReadAsync(socket, found);
        Assert.Equal(Enumerable.Range(201 - found, found).Select(n => (long)n), lines.Select(WsFrames.Number));
        await DockerCli.RunAsync(endpoint, "exec", container.Name, "sh", "-c", ": > /go");
        var (next, _) = await QueryFramesReader.ReadAsync(socket, 1);
        Assert.Equal(999, WsFrames.Number(next[0]));
        await WsFrames.CloseQuietlyAsync(socket);
    }
}
