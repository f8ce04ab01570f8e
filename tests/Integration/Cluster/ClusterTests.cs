using System.Diagnostics;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Cluster;

/// <summary>
/// Several instances behind Debian's HAProxy with the shipped configuration, against the real engine: where viewers
/// land, what the daemon pays, and that every viewer's lines stay exact across a killed, frozen, drained or added
/// instance and a reload of the proxy. Counts are scaled to the 2-core machine where a test says so.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests(ITestOutputHelper output)
{
    private static string Route(TestContainer container) => $"/ws/containers/{container.Name}/logs";

    /// <summary>Viewers of each container with varied tails (0 to 45) and their own tokens (one user each).</summary>
    private static List<(TestContainer Container, ClusterViewer Viewer)> Viewers(HaproxyProcess proxy, IEnumerable<TestContainer> containers, int perResource)
    {
        var viewers = new List<(TestContainer, ClusterViewer)>();
        var n = 0;
        foreach (var container in containers)
        {
            for (var v = 0; v < perResource; v++, n++)
                viewers.Add((container, new ClusterViewer(proxy, Route(container), tail: n * 7 % 46, token: ServiceProcess.Token(subject: $"viewer-{n}"))));
        }
        return viewers;
    }

    private static List<Task> Run(IEnumerable<ClusterViewer> viewers, CancellationToken cancellationToken) =>
        viewers.Select(v => Task.Run(() => v.RunAsync(cancellationToken), CancellationToken.None)).ToList();

    private async Task StopAsync(CancellationTokenSource running, IEnumerable<ClusterViewer> viewers, List<Task> tasks, TestCluster? cluster = null)
    {
        if (cluster is not null)
        {
            try
            {
                output.WriteLine($"resources per instance at the end: {string.Join(", ", (await cluster.Proxy.StickTableAsync()).GroupBy(e => e.Value).Select(g => $"{g.Key} {g.Count()}"))}");
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException)
            {
                // Diagnostics only: a runtime API too slow to answer on a loaded machine must not hide the test's own result.
                output.WriteLine($"stick table not read: {ex.Message}");
            }
            output.WriteLine(cluster.ProxyNotices);
        }
        running.Cancel();
        foreach (var viewer in viewers)
            viewer.Abort();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>What a scenario of <see cref="WatchAsync"/> may add to: viewer tasks (stopped at the end) and containers (removed).</summary>
    private sealed record Watch(List<Task> Tasks, List<TestContainer> Containers, CancellationToken Running);

    /// <summary>
    /// Runs the viewers until each is connected with <paramref name="lines"/> lines, then the scenario; whatever
    /// happens, the viewers are stopped (the stick table and HAProxy's notices printed) and the containers removed.
    /// </summary>
    private async Task WatchAsync(TestCluster cluster, IEnumerable<TestContainer> containers, List<(TestContainer Container, ClusterViewer Viewer)> viewers,
        Func<Watch, Task> scenario, int lines = 5, TimeSpan? within = null)
    {
        using var running = new CancellationTokenSource();
        var watch = new Watch(Run(viewers.Select(v => v.Viewer), running.Token), containers.ToList(), running.Token);
        try
        {
            await Eventually.True(() => viewers.All(v => v.Viewer.Instance is not null && v.Viewer.Count >= lines), "every viewer to get lines", within ?? TimeSpan.FromMinutes(2));
            await scenario(watch);
        }
        finally
        {
            await StopAsync(running, viewers.Select(v => v.Viewer), watch.Tasks, cluster);
            foreach (var container in watch.Containers)
                await container.DisposeAsync();
        }
    }

    /// <summary>The instance holding the most viewers, and its viewers.</summary>
    private static (string Instance, List<ClusterViewer> Viewers) Busiest(List<(TestContainer Container, ClusterViewer Viewer)> viewers)
    {
        var instance = viewers.GroupBy(v => v.Viewer.Instance!).OrderByDescending(g => g.Count()).First().Key;
        return (instance, viewers.Where(v => v.Viewer.Instance == instance).Select(v => v.Viewer).ToList());
    }

    /// <summary>Every viewer gets new lines after now (a few past the lowest line anyone had).</summary>
    private static Task LinesFlowAsync(List<(TestContainer Container, ClusterViewer Viewer)> viewers, string after = "")
    {
        var sample = Enumerable.Min(viewers.Select(v => v.Viewer.Last));
        return Eventually.True(() => viewers.All(v => v.Viewer.Last > sample + 3), $"lines to flow to everyone {after}".TrimEnd());
    }

    private void AssertExact(IEnumerable<ClusterViewer> viewers)
    {
        foreach (var viewer in viewers)
        {
            var (repeated, missing) = viewer.Check();
            if (repeated.Length + missing.Length + viewer.Gaps.Count > 0)
                output.WriteLine($"viewer on {string.Join(">", viewer.Instances)}: {viewer.Count} lines, repeated [{string.Join(",", repeated.Take(10))}], missing [{string.Join(",", missing.Take(10))}], gaps {string.Join(" ", viewer.Gaps)}");
            Assert.Empty(repeated);
            Assert.Empty(missing);
            Assert.Empty(viewer.Gaps);
        }
    }

    /// <summary>HAProxy's access log names the routes but holds no token (no query string, no JWT: they all start "eyJ").</summary>
    private static void AssertNoToken(HaproxyProcess proxy)
    {
        var log = proxy.Log;
        Assert.Contains("/ws/containers/", log);
        Assert.DoesNotContain("token=", log);
        Assert.DoesNotContain("eyJ", log);
    }

    /// <summary>30 resources x 10 viewers: the cluster holds 30 daemon log reads, and each resource's viewers share an instance.</summary>
    [Fact]
    public async Task ThirtyResourcesTenViewersEach_ThirtyDaemonReadsAndEveryViewerOfAResourceOnOneInstance()
    {
        const int Resources = 30;
        const int PerResource = 10;
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(Resources, "affinity", interval: "0.5");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, containers, PerResource);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            foreach (var group in viewers.GroupBy(v => v.Container.Name))
                Assert.Single(group.Select(v => v.Viewer.Instance).Distinct());
            var instances = cluster.Instances.Values.ToList();
            await Eventually.True(async () => await cluster.TotalDaemonLogConnectionsAsync(instances) == Resources, $"{Resources} daemon log reads in the cluster",
                interval: TimeSpan.FromMilliseconds(500));
            var perInstance = viewers.GroupBy(v => v.Viewer.Instance).Select(g => $"{g.Key}: {g.Select(v => v.Container.Name).Distinct().Count()} resources").ToList();
            output.WriteLine($"MEASURED 30x10: daemon log reads: {Resources}; {string.Join(", ", perInstance)}");
            Assert.Equal(Resources, (await cluster.Proxy.StickTableAsync()).Count);
            AssertExact(viewers.Select(v => v.Viewer));
        }, lines: 2, within: TimeSpan.FromMinutes(3));
        AssertNoToken(cluster.Proxy);
    }

    /// <summary>
    /// A configured Docker host that does not answer is the same for every instance: it must not decide routing. If the
    /// health check failed on it, HAProxy would mark every instance down at once and shutdown-sessions would cut every
    /// viewer, those of the hosts that answer too. Every instance stays up, and the viewers of the good host stay on
    /// their first connection with their lines exact.
    /// </summary>
    [Fact]
    public async Task DockerHostNotAnswering_EveryInstanceStaysUpAndViewersOfTheGoodHostStayConnected()
    {
        using var silent = new SilentDockerHost();
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string> { ["Docker:Hosts:silent:Endpoint"] = silent.Endpoint });
        var containers = await cluster.RunCountersAsync(6, "silenthost", interval: "0.2");
        var viewers = Viewers(cluster.Proxy, containers, 2);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            // Every instance has found the host silent (its readiness body says so) and is still ready.
            foreach (var (name, instance) in cluster.Instances)
            {
                await Eventually.True(async () =>
                {
                    using var http = new HttpClient { BaseAddress = instance.BaseUri };
                    using var response = await http.GetAsync("/readyz");
                    var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                    Assert.Equal(200, (int)response.StatusCode);
                    Assert.Equal("ready", body.GetProperty("status").GetString());
                    var silentHost = body.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "silent");
                    if (silentHost.GetProperty("answers").ValueKind != System.Text.Json.JsonValueKind.False)
                        return false;
                    output.WriteLine($"{name} /readyz: {body}");
                    return true;
                }, $"{name} to report the silent host", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
            }
            Assert.True(silent.Accepted > 0, "the silent host was never asked");
            // Then HAProxy's checks go on for longer than it takes to mark an instance down (fall 3 x inter 2 s plus the
            // tests' 10 s check timeout): every server stays up the whole time.
            await Eventually.True(async () =>
            {
                var stats = await cluster.Proxy.ServerStatsAsync();
                Assert.All(["i1", "i2", "i3"], s => Assert.Equal("0", stats[s]["chkdown"]));
                return ((string[])["i1", "i2", "i3"]).All(s => stats[s]["status"] == "UP" && int.Parse(stats[s]["lastchg"], System.Globalization.CultureInfo.InvariantCulture) >= 30);
            }, "every instance to stay up 30 s with the silent host configured", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(500));
            var stats = await cluster.Proxy.ServerStatsAsync();
            output.WriteLine(string.Join("; ", stats.Select(s => $"{s.Key} {s.Value["status"]} for {s.Value["lastchg"]} s, chkdown {s.Value["chkdown"]}, chkfail {s.Value["chkfail"]}")));
            await LinesFlowAsync(viewers);
            Assert.All(viewers, v => Assert.Single(v.Viewer.Instances));
            Assert.All(viewers, v => Assert.True(v.Viewer.Connected, "a viewer of the good host was cut"));
            AssertExact(viewers.Select(v => v.Viewer));
        });
    }

    /// <summary>
    /// Aliases of one container (its name, short id and full id) are three routing keys, so they may land on three
    /// instances: what that costs the daemon, measured (docs/scale-out.md, "Aliases"). Within one instance the aliases
    /// share one stream (the stream key is the resolved id), so each instance holds one daemon read per container with
    /// an alias there; every viewer's lines stay exact whichever alias it used.
    /// </summary>
    [Fact]
    public async Task Aliases_NameShortIdFullIdOfOneContainer_OneDaemonReadPerInstanceTheyReachMeasured()
    {
        const int Resources = 10;
        const int PerAlias = 3;
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(Resources, "alias", interval: "0.5");
        var viewers = new List<(TestContainer Container, ClusterViewer Viewer)>();
        var n = 0;
        foreach (var container in containers)
        {
            foreach (var alias in new[] { container.Name, container.Id[..12], container.Id })
            {
                for (var v = 0; v < PerAlias; v++, n++)
                    viewers.Add((container, new ClusterViewer(cluster.Proxy, $"/ws/containers/{alias}/logs", tail: n % 20, token: ServiceProcess.Token(subject: $"alias-{n}"))));
            }
        }
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            var expected = cluster.Instances.ToDictionary(i => i.Key, i => viewers.Where(v => v.Viewer.Instance == i.Key).Select(v => v.Container.Id).Distinct().Count());
            var total = expected.Values.Sum();
            foreach (var (name, instance) in cluster.Instances)
            {
                await Eventually.True(async () => await cluster.DaemonLogConnectionsAsync(instance) == expected[name], $"{name} to hold {expected[name]} daemon log reads",
                    interval: TimeSpan.FromMilliseconds(500));
            }
            var spread = containers.Select(c => viewers.Where(v => v.Container == c).Select(v => v.Viewer.Instance).Distinct().Count()).GroupBy(k => k).OrderBy(g => g.Key);
            output.WriteLine($"MEASURED aliases: {Resources} containers x 3 aliases x {PerAlias} viewers: {total} daemon log reads in the cluster " +
                $"({total / (double)Resources:0.00} per container; one alias form would hold {Resources}); containers on 1/2/3 instances: {string.Join(", ", spread.Select(g => $"{g.Key}: {g.Count()}"))}");
            Assert.InRange(total, Resources, Resources * 3);
            AssertExact(viewers.Select(v => v.Viewer));
        }, lines: 2, within: TimeSpan.FromMinutes(3));
    }

    /// <summary>kill -9 of the instance holding the most viewers: they are back on the others within seconds, exact.</summary>
    [Fact]
    public async Task KillNine_OneInstanceMidStream_ItsViewersResumeExactlyOnTheOthers()
    {
        // Scaled to 9 resources x 4 viewers: the recovery, not the fan-out, is under test.
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(9, "kill9");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, containers, 4);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            var (victim, moved) = Busiest(viewers);
            var marks = moved.ToDictionary(v => v, v => v.Last);
            var clock = Stopwatch.StartNew();
            Signals.Send(cluster.Instances[victim].Pid, Signals.Kill);
            await Eventually.True(() => moved.All(v => v.Instance != victim && v.Last > marks[v] + 1), "the killed instance's viewers to get lines elsewhere", TimeSpan.FromSeconds(60));
            output.WriteLine($"MEASURED kill -9: {moved.Count} viewers of {victim} back with new lines after {clock.ElapsedMilliseconds} ms");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"recovery took {clock.Elapsed}");
            var survivors = cluster.Instances.Where(i => i.Key != victim).Select(i => i.Value).ToList();
            await Eventually.True(async () => await cluster.TotalDaemonLogConnectionsAsync(survivors) == containers.Length, "one daemon read per resource again",
                interval: TimeSpan.FromMilliseconds(500));
            foreach (var group in viewers.GroupBy(v => v.Container.Name))
                Assert.Single(group.Select(v => v.Viewer.Instance).Distinct());
            await LinesFlowAsync(viewers, "after the move");
            AssertExact(viewers.Select(v => v.Viewer));
        });
    }

    /// <summary>SIGSTOP for longer than the health check: viewers move and resume exactly; once woken it holds nothing.</summary>
    [Fact]
    public async Task SigStop_LongerThanTheHealthCheck_ViewersMoveAndTheWokenInstanceHoldsNothing()
    {
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(6, "sigstop");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, containers, 3);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            var (victim, moved) = Busiest(viewers);
            var marks = moved.ToDictionary(v => v, v => v.Last);
            var frozen = cluster.Instances[victim];
            var others = cluster.Instances.Keys.Where(k => k != victim).ToArray();
            Signals.Send(frozen.Pid, Signals.Stop);
            try
            {
                await cluster.WaitForServersAsync(up: others, down: [victim]);
                await Eventually.True(() => moved.All(v => v.Instance != victim && v.Last > marks[v] + 1), "the frozen instance's viewers to get lines elsewhere");
            }
            finally
            {
                Signals.Send(frozen.Pid, Signals.Continue);
            }
            await Eventually.True(async () => await TestCluster.StreamsAsync(frozen) is { Streams: 0, Sessions: 0 }, "the woken instance to hold no viewer and no upstream",
                interval: TimeSpan.FromMilliseconds(250));
            Assert.Equal(0, await cluster.DaemonLogConnectionsAsync(frozen));
            await LinesFlowAsync(viewers, "after the move");
            AssertExact(viewers.Select(v => v.Viewer));
        });
    }

    /// <summary>A fourth instance through the runtime API (and the configuration file): old resources stay, new ones use it.</summary>
    [Fact]
    public async Task FourthInstanceAddedAtRunTime_ExistingResourcesStayAndNewOnesUseIt()
    {
        await using var cluster = await TestCluster.StartAsync();
        var old = await cluster.RunCountersAsync(6, "before4", interval: "0.5");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, old, 2);
        await WatchAsync(cluster, old, viewers, async watch =>
        {
            var table = await cluster.Proxy.StickTableAsync();
            await cluster.StartInstanceAsync(4);
            var address = $"127.0.0.1:{TestCluster.FirstInstancePort + 3}";
            // Dynamic servers take nothing from default-server: the same check settings, spelled out.
            const string Check = "check inter 2s fastinter 1s downinter 2s fall 3 rise 2 on-marked-down shutdown-sessions";
            output.WriteLine(await cluster.Proxy.CommandAsync($"add server instances/i4 {address} id 4 {Check}"));
            output.WriteLine(await cluster.Proxy.CommandAsync("enable health instances/i4"));
            output.WriteLine(await cluster.Proxy.CommandAsync("enable server instances/i4"));
            // And in the file, for the next reload or restart.
            var config = await File.ReadAllTextAsync(cluster.Proxy.ConfigPath);
            await File.WriteAllTextAsync(cluster.Proxy.ConfigPath, config.Replace("    server i3 \"${LOGS_INSTANCE_3}\" id 3\n", $"    server i3 \"${{LOGS_INSTANCE_3}}\" id 3\n    server i4 \"{address}\" id 4\n", StringComparison.Ordinal));
            await cluster.WaitForServersAsync(up: ["i1", "i2", "i3", "i4"]);

            // Existing resources: a new viewer of each lands where the old ones are.
            var late = Viewers(cluster.Proxy, old, 1).Select(v => v.Viewer).ToList();
            watch.Tasks.AddRange(Run(late, watch.Running));
            await Eventually.True(() => late.All(v => v.Instance is not null), "the late viewers to connect");
            foreach (var (viewer, container) in late.Zip(old))
                Assert.Equal(viewers.First(v => v.Container == container).Viewer.Instance, viewer.Instance);
            Assert.Equal(table, (await cluster.Proxy.StickTableAsync()).Where(e => table.ContainsKey(e.Key)).ToDictionary());
            Assert.DoesNotContain("i4", table.Values);

            // New resources: some of them on the fourth (consistent hashing gives it about a quarter; 24 make "none" a 1-in-1000 chance).
            var fresh = await cluster.RunCountersAsync(24, "after4", interval: "1");
            watch.Containers.AddRange(fresh);
            var newViewers = Viewers(cluster.Proxy, fresh, 1).Select(v => v.Viewer).ToList();
            watch.Tasks.AddRange(Run(newViewers, watch.Running));
            await Eventually.True(() => newViewers.All(v => v.Instance is not null), "the new resources' viewers to connect");
            output.WriteLine($"new resources: {string.Join(", ", newViewers.GroupBy(v => v.Instance).Select(g => $"{g.Key} {g.Count()}"))}");
            Assert.Contains(newViewers, v => v.Instance == "i4");
            Assert.All(viewers, v => Assert.Single(v.Viewer.Instances));

            // The file holds it too: a reload keeps the fourth and the table.
            var before = await cluster.Proxy.StickTableAsync();
            await cluster.Proxy.ReloadAsync();
            await cluster.WaitForServersAsync(up: ["i1", "i2", "i3", "i4"]);
            await Eventually.True(async () => (await cluster.Proxy.StickTableAsync()).Count >= before.Count, "the table to come across the reload");
            Assert.Equal(before, (await cluster.Proxy.StickTableAsync()).Where(e => before.ContainsKey(e.Key)).ToDictionary());
        }, lines: 2);
    }

    /// <summary>A reload of HAProxy: the stick table is the same, and viewers cut by the old worker resume exactly where they were.</summary>
    [Fact]
    public async Task HaproxyReloaded_StickTableKeptAndViewersResumeExactlyOnTheSameInstances()
    {
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(6, "reload");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, containers, 2);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            var table = await cluster.Proxy.StickTableAsync();
            var where = viewers.ToDictionary(v => v.Viewer, v => v.Viewer.Instance);
            await cluster.Proxy.ReloadAsync();
            // The old worker closes its WebSockets after hard-stop-after (3 s here): every viewer reconnects through the new one.
            await Eventually.True(() => viewers.All(v => v.Viewer.Instances.Count >= 2 && v.Viewer.Connected), "every viewer to reconnect through the new worker");
            Assert.Equal(table, await cluster.Proxy.StickTableAsync());
            foreach (var (_, viewer) in viewers)
                Assert.All(viewer.Instances, instance => Assert.Equal(where[viewer], instance));
            await LinesFlowAsync(viewers, "after the reload");
            AssertExact(viewers.Select(v => v.Viewer));
        });
    }

    /// <summary>SIGTERM of one instance: its viewers are moved over the drain window and resume with no gap and no repeat.</summary>
    [Fact]
    public async Task PlannedDrain_SigTerm_ViewersMoveOverTheWindowWithNoGapAndNoRepeat()
    {
        await using var cluster = await TestCluster.StartAsync();
        var containers = await cluster.RunCountersAsync(6, "drain");
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        var viewers = Viewers(cluster.Proxy, containers, 3);
        await WatchAsync(cluster, containers, viewers, async watch =>
        {
            var (victim, moved) = Busiest(viewers);
            var clock = Stopwatch.StartNew();
            var movedAt = new Dictionary<ClusterViewer, long>();
            cluster.Instances[victim].Terminate();
            await Eventually.True(() =>
            {
                foreach (var viewer in moved.Where(v => v.Instance != victim && !movedAt.ContainsKey(v)))
                    movedAt[viewer] = clock.ElapsedMilliseconds;
                return movedAt.Count == moved.Count;
            }, "the drained instance's viewers to move");
            output.WriteLine($"{moved.Count} viewers of {victim} moved at {string.Join(", ", movedAt.Values.Order())} ms (window 5 s)");
            Assert.Equal(0, await cluster.Instances[victim].WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await LinesFlowAsync(viewers, "after the drain");
            AssertExact(viewers.Select(v => v.Viewer));
            // Not asserted here: that a drained resource's viewers all land on one instance. Each reconnect is placed on
            // its own (the draining instance answers 503, HAProxy redispatches); with health checks flapping on a loaded
            // machine two of them can be placed at different moments, on different instances (docs/scale-out.md, "Not
            // guaranteed"). Printed instead.
            foreach (var group in viewers.GroupBy(v => v.Container.Name))
                output.WriteLine($"{group.Key}: {string.Join(",", group.Select(v => v.Viewer.Instance).Distinct())}");
        });
    }

    /// <summary>300 viewers of one resource reconnecting at once (their instance killed): one daemon read, a handful of inspects.</summary>
    [Fact]
    public async Task Herd_ThreeHundredViewersOfOneResourceReconnectAtOnce_OneDaemonReadAndBoundedInspects()
    {
        const int Herd = 300;
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string> { ["Streaming:MaxSessions"] = "1000" });
        await using var container = (await cluster.RunCountersAsync(1, "herd", interval: "0.2"))[0];
        await cluster.WaitForServersAsync(up: ["i1", "i2", "i3"]);
        using var running = new CancellationTokenSource();
        var viewers = Viewers(cluster.Proxy, [container], Herd).Select(v => v.Viewer).ToList();
        var tasks = Run(viewers, running.Token);
        try
        {
            await Eventually.True(() => viewers.All(v => v.Count >= 2), "every viewer to get lines", TimeSpan.FromMinutes(3));
            var first = Assert.Single(viewers.Select(v => v.Instance).Distinct())!;
            var marks = viewers.ToDictionary(v => v, v => v.Last);
            Signals.Send(cluster.Instances[first].Pid, Signals.Kill);
            await Eventually.True(() => viewers.All(v => v.Instance != first && v.Last > marks[v] + 1), "the herd to get lines elsewhere", TimeSpan.FromMinutes(2));
            var second = Assert.Single(viewers.Select(v => v.Instance).Distinct())!;
            var target = cluster.Instances[second];
            await Eventually.True(async () => await cluster.DaemonLogConnectionsAsync(target) == 1, "one daemon read for the herd", interval: TimeSpan.FromMilliseconds(500));
            var admin = await TestCluster.AdminAsync(target);
            var resolves = admin.GetProperty("resolve");
            output.WriteLine($"MEASURED herd: {Herd} viewers moved {first} -> {second}: resolve {resolves}, catch-up reads {admin.GetProperty("catch_up_reads")}");
            Assert.True(resolves.GetProperty("source_calls").GetInt64() <= 10, $"inspects for {Herd} reconnects: {resolves}");
            Assert.True(admin.GetProperty("catch_up_reads").GetInt64() <= 1, $"catch-up reads: {admin.GetProperty("catch_up_reads")}");
            AssertExact(viewers);
        }
        finally
        {
            await StopAsync(running, viewers, tasks, cluster);
        }
        AssertNoToken(cluster.Proxy);
    }
}
