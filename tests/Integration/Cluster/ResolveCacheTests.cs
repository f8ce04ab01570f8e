using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>The resolve cache against the real engine: Docker's events make a reused name mean the new container at once.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ResolveCacheTests
{
    /// <summary>
    /// A name resolved (and cached, for a minute here) is given to another container: the old one renamed away (its
    /// logs still there to be shown by mistake), a new one started under the name. The next viewer of the name must
    /// get the new container, well within the cache's lifetime.
    /// </summary>
    [Fact]
    public async Task NameReusedByANewContainer_NextViewerGetsTheNewOneNeverTheOldOnesLogs()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var service = await ServiceProcess.StartOnAsync(endpoint, new Dictionary<string, string> { ["Pipeline:ResolveCacheTtl"] = "00:01:00" });
        var name = DockerCli.UniqueName("reuse");
        var oldId = (await DockerCli.RunAsync(endpoint, "run", "-d", "--name", name, "--network", "none", DockerCli.Image, "sh", "-c", "while true; do echo \"old n=1\"; sleep 0.2; done")).Trim();
        try
        {
            using (var first = await service.ConnectAsync($"/ws/containers/{name}/logs?tail=1&timestamps=false"))
            {
                var connected = await WsFrames.NextAsync(first);
                Assert.Equal(oldId, connected!.Value.GetProperty("source_id").GetString());
                await WsFrames.CloseQuietlyAsync(first);
            }
            // The events watch starts with the first resolution and replays the last seconds (this container's own
            // create among them), which forgets what was cached: viewers until one is served from the cache.
            await Eventually.True(async () =>
            {
                using var again = await service.ConnectAsync($"/ws/containers/{name}/logs?tail=1&timestamps=false");
                Assert.Equal(oldId, (await WsFrames.NextAsync(again))!.Value.GetProperty("source_id").GetString());
                await WsFrames.CloseQuietlyAsync(again);
                return (await service.AdminGetAsync("/admin/streams")).GetProperty("resolve").GetProperty("cache_hits").GetInt64() >= 1;
            }, "a viewer served from the cache", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
            var cached = (await service.AdminGetAsync("/admin/streams")).GetProperty("resolve");

            await DockerCli.RunAsync(endpoint, "rename", name, name + "-old");
            var newId = (await DockerCli.RunAsync(endpoint, "run", "-d", "--name", name, "--network", "none", DockerCli.Image, "sh", "-c", "while true; do echo \"new n=1\"; sleep 0.2; done")).Trim();
            // The events watch delivers the rename and the create within moments; wait for that, not for the cache to expire.
            await Eventually.True(async () => (await service.AdminGetAsync("/admin/streams")).GetProperty("resolve").GetProperty("invalidations").GetInt64()
                > cached.GetProperty("invalidations").GetInt64(), "the events watch to see the rename", TimeSpan.FromSeconds(30));

            using var next = await service.ConnectAsync($"/ws/containers/{name}/logs?tail=1&timestamps=false");
            var frame = await WsFrames.NextAsync(next);
            Assert.Equal(newId, frame!.Value.GetProperty("source_id").GetString());
            var line = (await WsFrames.LogsAsync(next, 1))[0];
            Assert.StartsWith("new", line.GetProperty("message").GetString());
            await WsFrames.CloseQuietlyAsync(next);
        }
        finally
        {
            await DockerCli.TryRunAsync(endpoint, "rm", "-f", name);
            await DockerCli.TryRunAsync(endpoint, "rm", "-f", name + "-old");
        }
    }
}
