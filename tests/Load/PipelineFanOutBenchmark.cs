using System.Diagnostics;
using System.Runtime.CompilerServices;
using LogsMigration.Pipeline;
using System.Diagnostics.Metrics;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using Microsoft.Extensions.DependencyInjection;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Load;

/// <summary>
/// In-process fan-out of the shared pipeline: one generated upstream, N subscribers that each read every entry.
/// Queues are sized to hold the whole run, so nothing is dropped and the figure is the pipeline's own ceiling
/// (no sockets, no Docker). Bounded in entries and in time.
/// </summary>
internal static class PipelineFanOutBenchmark
{
    public static async Task<int> RunAsync(int subscribers, int entries, TimeSpan limit)
    {
        var options = new PipelineOptions { SubscriberQueueEntries = entries + 16, IngestBufferEntries = 4096, ReplayEntries = 1000 };
        var source = new GeneratedSource(entries);
        var metrics = new LogMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        await using var manager = new LogStreamManager(new LogSourceRegistry([source]), Options.Create(options), TimeProvider.System, metrics, NullLogger<LogStreamManager>.Instance);
        var key = new StreamKey("bench", LogSourceType.Container, "generated");
        var subs = new LogSubscription[subscribers];
        for (var i = 0; i < subscribers; i++)
            subs[i] = await manager.SubscribeAsync(key, new SubscriptionRequest(0), CancellationToken.None);

        using var cts = new CancellationTokenSource(limit);
        long delivered = 0, gaps = 0;
        var stopwatch = Stopwatch.StartNew();
        source.Go.SetResult();
        var readers = subs.Select(s => Task.Run(async () =>
        {
            long mine = 0, myGaps = 0;
            while (mine < entries && await s.WaitToReadAsync(cts.Token))
            {
                while (s.TryRead(out var e))
                {
                    if (e.Kind == StreamEventKind.Entry) mine++;
                    else if (e.Kind == StreamEventKind.Gap) myGaps++;
                }
            }
            Interlocked.Add(ref delivered, mine);
            Interlocked.Add(ref gaps, myGaps);
        })).ToArray();
        await Task.WhenAll(readers);
        stopwatch.Stop();
        foreach (var s in subs)
            await s.DisposeAsync();

        var perSecond = delivered / stopwatch.Elapsed.TotalSeconds;
        Console.WriteLine($"pipeline fan-out: {subscribers} subscribers x {entries} entries");
        Console.WriteLine($"  delivered {delivered:N0} of {(long)subscribers * entries:N0} in {stopwatch.Elapsed.TotalMilliseconds:N0} ms, gaps {gaps}");
        Console.WriteLine($"  {perSecond:N0} entries delivered per second ({Environment.ProcessorCount} cores, {RuntimeInfo()})");
        return delivered == (long)subscribers * entries && gaps == 0 ? 0 : 1;
    }

    private static string RuntimeInfo() => $".NET {Environment.Version}";

    private sealed class GeneratedSource(int entries) : ILogSource
    {
        public TaskCompletionSource Go { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LogSourceType SourceType => LogSourceType.Container;

        public ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken) => ValueTask.FromResult(resource);

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!start.Follow)
                yield break;
            await Go.Task.WaitAsync(cancellationToken);
            var origin = LogTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow).UnixNanoseconds;
            for (var i = 1; i <= entries; i++)
                yield return new SourceRecord(new LogTimestamp(origin + i), false, OutputStream.Stdout, $"n={i} some log text of a typical length for a line", LogSeverity.Info);
        }
    }
}
