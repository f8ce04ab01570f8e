using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Query;

/// <summary>
/// Where a read of older lines hands over to the shared stream on a real 2-replica service: the backward scan meets
/// the replay buffer (each task's part of it begins at another time), and a client joins while a replica's first line
/// is still on its way to the stream. Every line must come once: none lost where a task's part begins, none repeated.
/// Both services run on the manager (the test execs into each replica to give it its word), so the pace test covers
/// one node; <see cref="WindowReadTests"/> covers a service with a replica on each node.
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
        await using var process = await QueryTestBed.StartAsync(replayEntries: 50);
        // Each replica writes 20 matching lines, then 80 others; the buffer keeps each task's newest 50. Slot 1 writes at
        // once, slot 2 one line every 20 ms: its part of the buffer begins about a second after slot 1's, and its
        // matching lines are older than its part but newer than the buffer's oldest line. On the test's word, slot 1
        // writes one more matching line: the sentinel after which nothing of the history can come.
        await using var service = await CreateOnManagerAsync("seam",
            $"i=0; while [ $i -lt {PerReplica} ]; do i=$((i+1)); if [ $i -le {Needles} ]; then w=needle; else w=hay; fi; " +
            $"echo \"slot=$SLOT n=$i $w\"; if [ \"$SLOT\" = 2 ]; then sleep 0.02; fi; done; " +
            "while [ ! -e /go ]; do sleep 0.05; done; echo \"slot=$SLOT n=999 needle\"; sleep 1000");
        await QueryTestBed.LoggedAsync(endpoint, service.Name, $"slot=1 n={PerReplica} hay");
        await QueryTestBed.LoggedAsync(endpoint, service.Name, $"slot=2 n={PerReplica} hay");

        // Asks for more than there are (40): the scan reaches the log's beginning and every matching line comes once.
        using var socket = await process.ConnectAsync($"/api/v1/services/{service.Name}/logs?host_id=local&tail=50&timestamps=false&filter=needle&progress=true");
        var (lines, progress) = await QueryFramesReader.ReadAsync(socket, 2 * Needles);

        var seen = lines.Select(Line).ToList();
        var expected = Enumerable.Range(1, Needles).SelectMany(n => new[] { $"slot=1 n={n}", $"slot=2 n={n}" }).Order().ToList();
        Assert.Equal(expected, seen.Order().ToList());
        Assert.Equal("done", progress[^1].GetProperty("state").GetString());
        // No 41st line: the next one to come is the live sentinel, written now, after the whole history.
        await QueryTestBed.ExecAsync(endpoint, service.Name, 1, ": > /go");
        var (next, _) = await QueryFramesReader.ReadAsync(socket, 1);
        Assert.Equal("slot=1 n=999", Line(next[0]));
        await WsFrames.CloseQuietlyAsync(socket);
    }

    [Fact]
    public async Task QuietService_ReplicasFirstLineOnItsWayToTheStreamWhenClientsJoin_EveryLineOnce()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var process = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string>
        {
            // The live read holds each line this long (to put replicas in order) before the stream has it: the clients
            // join while it holds slot 2's first line, which a read of Docker's history already gives. The validator's
            // maximum, so a slow box still joins in time (checked below, not assumed).
            ["Docker:ServiceMergeWindow"] = "00:00:10",
        });
        // Slot 1 gives one line before the stream opens: the history holds a line of it, and the live read starts a
        // margin before that line (a real start, not "every line"); slot 2 stays quiet.
        await using var service = await CreateOnManagerAsync("quiet",
            "if [ \"$SLOT\" = 1 ]; then echo \"slot=$SLOT needle early\"; fi; " +
            "while [ ! -e /go ]; do sleep 0.05; done; echo \"slot=$SLOT needle first\"; " +
            "while [ ! -e /end ]; do sleep 0.05; done; echo \"slot=$SLOT needle last\"; sleep 1000");
        await QueryTestBed.LoggedAsync(endpoint, service.Name, "slot=1 needle early");
        var path = $"/api/v1/services/{service.Name}/logs?host_id=local&timestamps=false";

        // The shared stream opens: its history is slot 1's line (sequence 1).
        using var viewer = await process.ConnectAsync($"{path}&tail=0");
        await Eventually.True(async () => await StreamAsync(process) is { State: "live", Sequence: 1 }, "the shared stream to be live with slot 1's line",
            interval: TimeSpan.FromMilliseconds(250));
        await QueryTestBed.ExecAsync(endpoint, service.Name, 2, ": > /go");
        await QueryTestBed.LoggedAsync(endpoint, service.Name, "slot=2 needle first");
        // A filtered tail (its scan of Docker's history) and a followed range join now.
        using var scan = await process.ConnectAsync($"{path}&tail=10&filter=needle&progress=true");
        using var range = await process.ConnectAsync($"{path}&since=10m");
        // The test means something only if both attached while slot 2's line was still held by the merge window: the
        // stream has passed nothing since its history when it lists all three clients.
        (string State, long Sequence, int Subscribers)? joined = null;
        await Eventually.True(async () => (joined = await StreamAsync(process)) is { Subscribers: 3 }, "both clients to attach",
            interval: TimeSpan.FromMilliseconds(100));
        Assert.True(joined!.Value.Sequence == 1,
            $"Precondition missed: slot 2's first line reached the stream (sequence {joined.Value.Sequence}) before both clients attached; the box was slower than the 10 s merge window.");
        // Slot 1 stays quiet until after they joined; its last line is the sentinel.
        await QueryTestBed.ExecAsync(endpoint, service.Name, 1, ": > /go");
        await QueryTestBed.LoggedAsync(endpoint, service.Name, "slot=1 needle first");
        await QueryTestBed.ExecAsync(endpoint, service.Name, 1, ": > /end");

        string[] live = ["slot=2 needle first", "slot=1 needle first", "slot=1 needle last"];
        foreach (var (client, name, expected) in new[] { (viewer, "viewer", live), (scan, "filtered tail", ["slot=1 needle early", .. live]), (range, "range", ["slot=1 needle early", .. live]) })
        {
            var lines = await QueryFramesReader.UntilLineAsync(client, "slot=1 needle last");
            Assert.True(expected.SequenceEqual(lines), $"{name}: {string.Join(" | ", lines)}");
            await WsFrames.CloseQuietlyAsync(client);
        }
    }

    // On the manager, where the test can exec into each replica to give it its word.
    private static Task<TestService> CreateOnManagerAsync(string purpose, string script) =>
        QueryTestBed.CreateSlottedServiceAsync(purpose, script, "--constraint", "node.role==manager");

    /// <summary>The one shared stream as /admin/streams lists it; null before it exists.</summary>
    private static async Task<(string State, long Sequence, int Subscribers)?> StreamAsync(ServiceProcess process)
    {
        var streams = (await process.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray().ToList();
        if (streams.Count != 1)
            return null;
        var stream = streams[0];
        return (stream.GetProperty("state").GetString()!, stream.GetProperty("sequence").GetInt64(), stream.GetProperty("subscribers").GetInt32());
    }

    private static string Line(JsonElement log)
    {
        var text = log.GetProperty("message").GetString()!;
        var at = text.IndexOf("slot=", StringComparison.Ordinal);
        return text[at..text.IndexOf(" needle", StringComparison.Ordinal)];
    }
}
