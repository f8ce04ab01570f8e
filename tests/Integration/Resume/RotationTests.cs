using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Resume;

/// <summary>
/// json-file rotation while followed. dockerd 20.10 itself repeats lines around a rotation (`docker logs -f` showed
/// hundreds of duplicates in 20 s here): the service must pass each line on once.
/// </summary>
[Collection(SequentialCollection.Name)]
public sealed class RotationTests(ITestOutputHelper output)
{
    private const int Lines = 60_000;

    // About 2,000 lines a second of about 100 bytes for 30 s: 1 MiB files rotate every few seconds.
    private static readonly string Writer =
        $"i=0; pad=$(printf '%080d' 0); while [ $i -lt {Lines} ]; do i=$((i+1)); echo \"n=$i $pad\"; if [ $((i % 20)) -eq 0 ]; then sleep 0.01; fi; done";

    [Fact]
    public async Task JsonFileRotatingWhileFollowed_EveryViewerGetsEachLineOnce()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Main);
        await using var service = await ServiceProcess.StartOnAsync(endpoint);
        await using var container = await TestContainer.RunAsync(endpoint, "rotate", "sleep 2; " + Writer,
            "--log-opt", "max-size=1m", "--log-opt", "max-file=3");
        var viewers = Enumerable.Range(0, 3).Select(_ => new ResumingViewer($"/ws/containers/{container.Name}/logs?timestamps=false")).ToArray();
        using var stop = new CancellationTokenSource();
        var current = service;
        var running = viewers.Select(v => Task.Run(() => v.RunAsync(() => current, stop.Token))).ToArray();
        try
        {
            await Eventually.True(() => viewers.All(v => v.Numbers.Count > 0 && v.Numbers[^1] == Lines), "every viewer to reach the last line", TimeSpan.FromSeconds(150));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromMinutes(2));
        }

        using (var http = new HttpClient { BaseAddress = service.BaseUri })
        {
            var metrics = await http.GetStringAsync("/metrics");
            output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("logs_entries_repeated", StringComparison.Ordinal))));
        }
        foreach (var viewer in viewers)
        {
            var (repeated, missing) = viewer.Check();
            output.WriteLine($"viewer: {viewer.Count} lines over {viewer.Connections} connections, {repeated.Length} repeated, {missing.Length} missing, gaps: {string.Join(" ", viewer.Gaps)}");
            Assert.Empty(repeated);
            // A line rotated away before it was read may be missing, but only behind a gap marker.
            // A viewer that fell behind is told exactly how many lines it skipped.
            var told = viewer.Gaps.Select(g => System.Text.Json.JsonDocument.Parse(g).RootElement.GetProperty("missed").GetInt64()).ToArray();
            Assert.DoesNotContain(-1L, told);
            Assert.Equal(missing.Length, told.Sum());
        }
    }
}
