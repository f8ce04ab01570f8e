using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using Microsoft.Extensions.DependencyInjection;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogsMigration.Tests.Unit.Fakes;

/// <summary>A stream manager over a <see cref="FakeLogSource"/> and a <see cref="FakeTimeProvider"/>.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    public static readonly StreamKey Key = new("local", LogSourceType.Container, "c0ffee");

    public PipelineHarness(Action<PipelineOptions>? configure = null)
    {
        Options = new PipelineOptions { IdleGrace = TimeSpan.FromSeconds(30), StallTimeout = TimeSpan.FromMinutes(10) };
        configure?.Invoke(Options);
        Manager = new LogStreamManager(new LogSourceRegistry([Source]), Microsoft.Extensions.Options.Options.Create(Options), Time, Metrics, NullLogger<LogStreamManager>.Instance);
    }

    public FakeLogSource Source { get; } = new();

    /// <summary>Instruments on a meter factory of this harness alone, so parallel tests never see each other's values.</summary>
    public LogMetrics Metrics { get; } = NewMetrics();

    public static LogMetrics NewMetrics() =>
        new(new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider()
            .GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
    public RecordingTimeProvider Time { get; } = new();
    public PipelineOptions Options { get; }
    public LogStreamManager Manager { get; }

    public Task<LogSubscription> Subscribe(int tail = 100, bool follow = true, ResumePoint? resume = null) =>
        Manager.SubscribeAsync(Key, new SubscriptionRequest(tail, follow, resume), CancellationToken.None);

    /// <summary>Reads events until <paramref name="entries"/> entries have arrived (gaps and notices are kept too).</summary>
    public static async Task<List<StreamEvent>> Read(LogSubscription subscription, int entries, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var events = new List<StreamEvent>();
        var seen = 0;
        while (seen < entries && await subscription.WaitToReadAsync(cts.Token))
        {
            while (seen < entries && subscription.TryRead(out var e))
            {
                events.Add(e);
                if (e.Kind == StreamEventKind.Entry)
                    seen++;
            }
        }
        return events;
    }

    /// <summary>Reads everything until the subscription ends.</summary>
    public static async Task<List<StreamEvent>> ReadToEnd(LogSubscription subscription, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var events = new List<StreamEvent>();
        await foreach (var e in subscription.ReadAllAsync(cts.Token))
            events.Add(e);
        return events;
    }

    /// <summary>Reads what the subscription has until it has nothing more for a moment (it has not ended).</summary>
    public static async Task<List<StreamEvent>> ReadToEndOrIdle(LogSubscription subscription, TimeSpan? idle = null)
    {
        var events = new List<StreamEvent>();
        while (true)
        {
            while (subscription.TryRead(out var e))
                events.Add(e);
            using var cts = new CancellationTokenSource(idle ?? TimeSpan.FromMilliseconds(500));
            try
            {
                if (!await subscription.WaitToReadAsync(cts.Token))
                    return events;
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                return events;
            }
        }
    }

    public static long[] Sequences(IEnumerable<StreamEvent> events) =>
        events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Sequence).ToArray();

    public static string[] Texts(IEnumerable<StreamEvent> events) =>
        events.Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!.Text).ToArray();

    public ValueTask DisposeAsync() => Manager.DisposeAsync();
}
