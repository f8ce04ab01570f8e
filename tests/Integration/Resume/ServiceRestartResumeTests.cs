using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Resume;

/// <summary>
/// The resume cursor against a real engine and the service as a real process that dies and comes back: every viewer
/// reconnects with the cursor of the last line it got, and between them they must have seen each number once.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class ServiceRestartResumeTests(ITestOutputHelper output)
{
    // About 500 lines a second: ten lines, then a 20 ms pause.
    private const string Counter = "i=0; while true; do i=$((i+1)); echo \"n=$i\"; if [ $((i % 10)) -eq 0 ]; then sleep 0.02; fi; done";
    private const int Viewers = 20;

    /// <param name="signal">
    /// KILL: the process dies at once; the viewers reconnect to the next instance, started two seconds later.
    /// TERM: a rolling deploy: the next instance starts while the old one drains its sessions (1012 with
    /// reconnect: true, spread over the drain window), and every viewer moves to it.
    /// </param>
    [Theory]
    [InlineData("KILL")]
    [InlineData("TERM")]
    public async Task ServiceStoppedAndStartedAgain_EveryViewerResumesByCursor_EachNumberExactlyOnce(string signal)
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        var settings = new Dictionary<string, string> { ["Streaming:ShutdownDrainWindow"] = "00:00:03" };
        await using var container = await TestContainer.RunAsync(endpoint, "restart", Counter);
        ServiceProcess? current = await ServiceProcess.StartOnAsync(endpoint, settings);
        var viewers = Enumerable.Range(0, Viewers).Select(_ => new ResumingViewer($"/ws/containers/{container.Name}/logs?timestamps=false")).ToArray();
        using var stop = new CancellationTokenSource();
        var running = viewers.Select(v => Task.Run(() => v.RunAsync(() => Volatile.Read(ref current), stop.Token))).ToArray();
        try
        {
            await Eventually.True(() => viewers.All(v => v.Count >= 300), "every viewer to get 300 lines", TimeSpan.FromSeconds(60));

            var old = current!;
            int[] atStop;
            if (signal == "KILL")
            {
                Volatile.Write(ref current, null);
                System.Diagnostics.Process.GetProcessById(old.Pid).Kill();
                await old.DisposeAsync();
                atStop = viewers.Select(v => v.Count).ToArray();
                // Lines keep coming while no instance runs: the next one must give them from Docker's log.
                await Task.Delay(TimeSpan.FromSeconds(2));
                Volatile.Write(ref current, await ServiceProcess.StartOnAsync(endpoint, settings));
            }
            else
            {
                var next = await ServiceProcess.StartOnAsync(endpoint, settings);
                Volatile.Write(ref current, next);
                atStop = viewers.Select(v => v.Count).ToArray();
                old.Terminate();
                Assert.Equal(0, await old.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                await old.DisposeAsync();
            }

            await Eventually.True(() => viewers.Select((v, i) => v.Count >= atStop[i] + 2000).All(x => x),
                "every viewer to get 2,000 lines after the restart", TimeSpan.FromSeconds(90));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromMinutes(3));
            if (Volatile.Read(ref current) is { } last)
                await last.DisposeAsync();
        }

        foreach (var viewer in viewers)
        {
            var (repeated, missing) = viewer.Check();
            output.WriteLine($"viewer: {viewer.Count} lines over {viewer.Connections} connections, {repeated.Length} repeated, {missing.Length} missing, gaps: {string.Join(" ", viewer.Gaps)}");
            Assert.True(viewer.Connections >= 2, "the viewer reconnected");
            Assert.Empty(repeated);
            Assert.Empty(missing);
            Assert.Empty(viewer.Gaps);
            if (signal == "TERM")
                Assert.Contains(viewer.Closes, c => c.Contains(":1012 ", StringComparison.Ordinal) && c.Contains("\"reconnect\":true", StringComparison.Ordinal));
        }
    }
}
