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

    [Fact]
    public async Task ServiceKilledAndStartedAgain_EveryViewerResumesByCursor_EachNumberExactlyOnce()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var container = await TestContainer.RunAsync(endpoint, "restart", Counter);
        ServiceProcess? current = await ServiceProcess.StartOnAsync(endpoint);
        var viewers = Enumerable.Range(0, Viewers).Select(_ => new ResumingViewer($"/ws/containers/{container.Name}/logs?timestamps=false")).ToArray();
        using var stop = new CancellationTokenSource();
        var running = viewers.Select(v => Task.Run(() => v.RunAsync(() => Volatile.Read(ref current), stop.Token))).ToArray();
        try
        {
            await Eventually.True(() => viewers.All(v => v.Count >= 300), "every viewer to get 300 lines", TimeSpan.FromSeconds(60));

            var dying = current!;
            Volatile.Write(ref current, null);
            System.Diagnostics.Process.GetProcessById(dying.Pid).Kill();
            await dying.DisposeAsync();
            var atKill = viewers.Select(v => v.Count).ToArray();
            // Lines keep coming while no instance runs: the next one must give them from Docker's log.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Volatile.Write(ref current, await ServiceProcess.StartOnAsync(endpoint));

            await Eventually.True(() => viewers.Select((v, i) => v.Count >= atKill[i] + 2000).All(x => x),
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
        }
    }
}
