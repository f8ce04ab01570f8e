using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class SubscriberQueueTests
{
    private static LogEntry[] Chunk(long first, int count) =>
        Enumerable.Range(0, count)
            .Select(i => new LogEntry(PipelineHarness.Key, first + i, "e", new SourceRecord(new LogTimestamp(first + i), false, OutputStream.Stdout, $"n={first + i}", LogSeverity.Info)))
            .ToArray();

    [Fact]
    public async Task WriteAsync_Lossless_WaitsWhileFullAndGoesOnWhenTheReaderTakesAChunk()
    {
        var queue = new SubscriberQueue(16, 0, lossless: true, new FakeTimeProvider(), () => null);
        await queue.WriteAsync(Chunk(1, 16), CancellationToken.None);

        var second = queue.WriteAsync(Chunk(17, 4), CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);

        Assert.True(queue.TryRead(out var first));
        Assert.Equal(16, first.Count);
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(queue.TryRead(out var next));
        Assert.Equal(17, next.Entries![next.Start].Sequence);
        Assert.Equal(0, queue.Count);
        Assert.Equal(0, queue.Dropped);
    }

    [Fact]
    public async Task WriteAsync_Lossless_AWriterWaitingForRoomIsLetGoWhenTheQueueIsClosed()
    {
        var queue = new SubscriberQueue(16, 0, lossless: true, new FakeTimeProvider(), () => null);
        await queue.WriteAsync(Chunk(1, 16), CancellationToken.None);
        var waiting = queue.WriteAsync(Chunk(17, 1), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        queue.Abort(new SubscriberStalledException(TimeSpan.FromSeconds(1)));

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        // What it wrote after the close was not queued: the count still matches what a reader could take.
        Assert.Equal(16, queue.Count);
    }

    [Fact]
    public void Enqueue_PastCapacity_DropsTheOldestChunksAndCountsExactly()
    {
        var queue = new SubscriberQueue(16, 0, lossless: false, new FakeTimeProvider(), () => null);
        queue.Enqueue(Chunk(1, 10));
        queue.Enqueue(Chunk(11, 10));
        // 20 held > 16: the oldest chunk (1..10) goes whole.
        Assert.Equal(10, queue.Count);
        Assert.Equal(10, queue.Dropped);
        // A re-offered chunk (BroadcastBlock at link time) adds nothing.
        queue.Enqueue(Chunk(11, 10));
        Assert.Equal(10, queue.Count);
        Assert.True(queue.TryRead(out var item));
        Assert.Equal(11, item.Entries![item.Start].Sequence);
        Assert.False(queue.TryRead(out _));
    }
    [Fact]
    public void TryArmWake_CalledOncePerArm_ByTheNextWriteOrTheClose_RefusedWhileSomethingIsReadable()
    {
        var queue = new SubscriberQueue(16, 0, lossless: false, new FakeTimeProvider(), () => null);
        var wakes = 0;
        Action<object?> wake = _ => wakes++;

        Assert.True(queue.TryArmWake(wake, null));
        queue.Enqueue(Chunk(1, 2));
        Assert.Equal(1, wakes);
        // Not armed again: a second write does not call it.
        queue.Enqueue(Chunk(3, 2));
        Assert.Equal(1, wakes);
        // Lines are waiting: no arm, the reader reads at once.
        Assert.False(queue.TryArmWake(wake, null));
        Assert.True(queue.TryRead(out _));
        Assert.True(queue.TryRead(out _));
        Assert.False(queue.TryRead(out _));

        // A notice wakes it like a line.
        Assert.True(queue.TryArmWake(wake, null));
        queue.Notify(new StreamNotice(StreamNoticeKind.UpstreamRetrying, "retrying"));
        Assert.Equal(2, wakes);
        Assert.True(queue.TryRead(out _));

        // The close wakes an armed reader, and a closed queue is never armed.
        Assert.True(queue.TryArmWake(wake, null));
        queue.Complete();
        Assert.Equal(3, wakes);
        Assert.False(queue.TryArmWake(wake, null));
    }
}
