using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Streaming;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>One pipeline subscriber read in the background, keeping every event for the assertions to look at.</summary>
public sealed class RecordingSubscriber : IAsyncDisposable
{
    private readonly LogSubscription _subscription;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<StreamEvent> _events = [];

    public RecordingSubscriber(LogSubscription subscription)
    {
        _subscription = subscription;
        Reading = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadAllAsync(_stop.Token))
                lock (_events)
                    _events.Add(e);
        });
    }

    /// <summary>The background read; completed only when the subscription ended (or failed).</summary>
    public Task Reading { get; }

    public List<LogEntry> Entries => Snapshot().Where(e => e.Kind == StreamEventKind.Entry).Select(e => e.Entry!).ToList();

    public List<string> Texts => Entries.Select(e => e.Text).ToList();

    /// <summary>Every gap marker as "reason missed text", for failure messages.</summary>
    public List<string> Gaps => Snapshot().Where(e => e.Kind == StreamEventKind.Gap).Select(e => $"{e.GapReason} {e.Missed} {e.Entry?.Text}").ToList();

    public Dictionary<string, List<string>> LinesPerTask() =>
        Entries.GroupBy(e => e.Record.Metadata?.GetValueOrDefault("task_id") ?? "").ToDictionary(g => g.Key, g => g.Select(e => e.Text).ToList());

    /// <summary>
    /// Per task, the numbered lines go up by exactly one, except that lines may be missing where the source said so: a
    /// <see cref="GapReason.SourceIncomplete"/> marker arrived after the task's previous line (Docker's own "Error
    /// grabbing logs" inside a service's stream). A repeat, or a loss with no marker before it, fails.
    /// </summary>
    public void AssertEachTaskContiguousOrBehindAMarker()
    {
        var last = new Dictionary<string, int>();
        var markedSince = new HashSet<string>();
        foreach (var e in Snapshot())
        {
            if (e.Kind == StreamEventKind.Gap && e.GapReason == GapReason.SourceIncomplete)
            {
                markedSince.UnionWith(last.Keys);
                continue;
            }
            if (e.Kind != StreamEventKind.Entry)
                continue;
            var (run, n) = Records.Parse(e.Entry!.Text);
            var task = $"{e.Entry.Record.Metadata?.GetValueOrDefault("task_id")} {run}";
            if (last.TryGetValue(task, out var previous))
            {
                var behindMarker = markedSince.Contains(task);
                Assert.True(n == previous + 1 || (behindMarker && n > previous + 1),
                    $"Task {task}: {n} follows {previous} ({(n <= previous ? "a line repeated" : "a line lost with no marker before it")}).");
            }
            last[task] = n;
            markedSince.Remove(task);
        }
    }

    public bool Has(StreamNoticeKind kind) => NoticeIndex(kind) >= 0;

    public int NoticeIndex(StreamNoticeKind kind) => Snapshot().FindIndex(e => e.Kind == StreamEventKind.Notice && e.Notice!.Kind == kind);

    public IEnumerable<StreamNoticeKind> Notices() => Snapshot().Where(e => e.Kind == StreamEventKind.Notice).Select(e => e.Notice!.Kind);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAny(Reading);
        await _subscription.DisposeAsync();
        _stop.Dispose();
    }

    private List<StreamEvent> Snapshot()
    {
        lock (_events)
            return [.. _events];
    }
}
