using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Stacks;

/// <summary>
/// The stack route of the service as a real process: which kind answered (<c>connected.stack_kind</c>), refusals with
/// their codes, and resume by cursor across a restart of the service, when the lines in between come from Docker.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class StackRouteTests(ITestOutputHelper output)
{
    private const string Numbered = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; sleep 0.05; done";
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task SwarmStack_ConnectedSaysSwarm_ResumeByCursorAfterTheServiceRestarted_EveryTaskContinuesExactly()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var stack = await TestStack.DeployAsync(endpoint, "resume", new Dictionary<string, (int, string)>
        {
            ["api"] = (2, Numbered),
            ["web"] = (2, Numbered),
        });
        await Eventually.True(async () => (await stack.RunningTasksAsync()).Count == 4, "four running tasks", ConvergeTimeout);
        var path = $"/ws/stacks/{stack.Name}/logs?timestamps=false";

        List<JsonElement> before;
        await using (var first = await ServiceProcess.StartOnAsync(endpoint))
        {
            var socket = await first.ConnectAsync($"{path}&tail=0");
            var connected = (await WsFrames.NextAsync(socket))!.Value;
            Assert.Equal(("connected", "stack", $"swarm:{stack.Name}", "swarm"),
                (connected.GetProperty("type").GetString(), connected.GetProperty("source_type").GetString(), connected.GetProperty("source_id").GetString(), connected.GetProperty("stack_kind").GetString()));
            before = await WsFrames.LogsAsync(socket, 200, TimeSpan.FromSeconds(60));
            await WsFrames.CloseQuietlyAsync(socket);
        }
        // Another life of the service: nothing of the stream is in memory, the lines in between are read from Docker.
        await using var second = await ServiceProcess.StartOnAsync(endpoint);
        var resumed = await second.ConnectAsync($"{path}&resume={Uri.EscapeDataString(before[^1].GetProperty("cursor").GetString()!)}");
        Assert.Equal("swarm", (await WsFrames.NextAsync(resumed))!.Value.GetProperty("stack_kind").GetString());
        var after = await WsFrames.LogsAsync(resumed, 400, TimeSpan.FromSeconds(60));
        await WsFrames.CloseQuietlyAsync(resumed);

        var tasks = before.Concat(after).GroupBy(Task).ToList();
        Assert.Equal(4, tasks.Count);
        foreach (var task in tasks)
        {
            var numbers = task.Select(WsFrames.Number).ToList();
            var seen = before.Count(l => Task(l) == task.Key);
            output.WriteLine($"task {task.Key}: {seen} lines before the restart, {numbers.Count - seen} after, {numbers[0]}..{numbers[^1]}");
            Assert.True(seen > 0 && numbers.Count > seen, "the task's lines on both sides of the restart");
            // Nothing repeated, nothing missing: each task's numbers go up by one across the reconnect.
            Assert.All(numbers.Zip(numbers.Skip(1)), pair => Assert.Equal(pair.First + 1, pair.Second));
        }
    }

    [Fact]
    public async Task ComposeProjectOnAHostOutsideSwarm_ConnectedSaysCompose_ShownAsAStackInAdminAndMetrics_AnUnknownStackThereNotSupported()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var project = DockerCli.UniqueName("project");
        await using var web = await TestContainer.RunAsync(endpoint, "web", Numbered,
            "--label", $"com.docker.compose.project={project}", "--label", "com.docker.compose.service=web", "--label", "com.docker.compose.container-number=1");
        await using var service = await ServiceProcess.StartOnAsync(endpoint);

        var socket = await service.ConnectAsync($"/ws/stacks/{project}/logs?timestamps=false&tail=5");
        var connected = (await WsFrames.NextAsync(socket))!.Value;
        var lines = await WsFrames.LogsAsync(socket, 10);
        var streams = (await service.AdminGetAsync("/admin/streams")).GetProperty("streams").EnumerateArray()
            .Select(st => (st.GetProperty("key").GetProperty("source_type").GetString(), st.GetProperty("key").GetProperty("source_id").GetString())).ToList();
        string metrics;
        using (var http = new HttpClient { BaseAddress = service.BaseUri })
            metrics = await http.GetStringAsync("/metrics");
        await WsFrames.CloseQuietlyAsync(socket);
        var unknown = await service.ConnectAsync($"/ws/stacks/{DockerCli.UniqueName("none")}/logs");
        var refused = await WsFrames.UntilClosedAsync(unknown);

        Assert.Equal(("compose", $"compose:{project}"), (connected.GetProperty("stack_kind").GetString(), connected.GetProperty("source_id").GetString()));
        Assert.All(lines, l => Assert.Equal(("web", "1"), (l.GetProperty("metadata").GetProperty("service_name").GetString(), l.GetProperty("metadata").GetProperty("replica").GetString())));
        Assert.Contains(("stack", $"compose:{project}"), streams);
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("logs_sessions{", StringComparison.Ordinal) && l.Contains("source=\"stack\"", StringComparison.Ordinal));
        var error = Assert.Single(refused);
        Assert.Equal("not_supported", error.GetProperty("code").GetString());
        Assert.Equal(4422, (int?)unknown.CloseStatus);
    }

    private static string Task(JsonElement log) => log.GetProperty("metadata").GetProperty("task_id").GetString()!;
}
