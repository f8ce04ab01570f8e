using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// The service's pipeline and Docker sources over one host whose system or daemon log the test configures, a
/// subscriber per call, and the cursor a reconnecting client would give back.
/// </summary>
public sealed class HostLogHarness : IAsyncDisposable
{
    private readonly List<RecordingSubscriber> _subscribers = [];

    public HostLogHarness(ITestOutputHelper output, string hostId, string endpoint, params (string Key, string Value)[] settings)
    {
        HostId = hostId;
        Host = new PipelineHost(output, PipelineHost.Settings(hostId, endpoint,
            [("Pipeline:IdleGrace", "00:00:00"), ("Docker:HostLogs:PollInterval", "00:00:00.050"), .. settings]));
    }

    public string HostId { get; }

    public PipelineHost Host { get; }

    public StreamKey Key(LogSourceType type) => new(HostId, type, HostId);

    public async Task<RecordingSubscriber> SubscribeAsync(LogSourceType type, int tail = 100, ResumeCursor? cursor = null)
    {
        var source = Host.Get<LogsMigration.Pipeline.Sources.LogSourceRegistry>().Get(type);
        using var open = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var resource = await source.ResolveAsync(HostId, HostId, open.Token);
        var subscriber = new RecordingSubscriber(await Host.Manager.SubscribeAsync(new StreamKey(HostId, type, resource), new SubscriptionRequest(tail, Cursor: cursor), open.Token));
        _subscribers.Add(subscriber);
        return subscriber;
    }

    /// <summary>The cursor of a subscriber's last line, decoded as the API decodes a client's <c>resume</c>.</summary>
    public static ResumeCursor CursorAfter(LogEntry entry)
    {
        var text = ResumeCursor.Encode(entry.Key, entry.Epoch, entry.Sequence, entry.Position!);
        Assert.True(ResumeCursor.TryDecode(text, out var cursor, out var error), error);
        return cursor;
    }

    /// <summary>Leaves and waits until the shared stream (and its upstream read) is gone.</summary>
    public async Task LeaveAsync(RecordingSubscriber subscriber)
    {
        _subscribers.Remove(subscriber);
        await subscriber.DisposeAsync();
        await Eventually.True(() => Host.Manager.StreamCount == 0, "the stream to be torn down after its last subscriber left");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var subscriber in _subscribers)
            await subscriber.DisposeAsync();
        await Host.DisposeAsync();
    }
}
