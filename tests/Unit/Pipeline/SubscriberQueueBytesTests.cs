using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Time.Testing;
using static LogsMigration.Tests.Unit.Pipeline.BufferTestEntries;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class SubscriberQueueBytesTests
{
    private static readonly long Big = Entry(1, Line64K).ApproximateSize;

    private static SubscriberQueue Queue(long maxBytes, BufferBudget? budget = null, bool lossless = false, int capacity = 1000) =>
        new(capacity, 0, lossless, new FakeTimeProvider(), () => null, maxBytes, budget);

    private static long[] Drain(SubscriberQueue queue)
    {
        var sequences = new List<long>();
        while (queue.TryRead(out var item))
        {
            for (var i = item.Start; i < (item.Entries?.Length ?? 0); i++)
                sequences.Add(item.Entries![i].Sequence);
        }
        return [.. sequences];
    }

    [Fact]
    public void Bytes_GoUpOnEnqueueAndDownOnRead_AndTheBudgetFollows()
    {
        var budget = new BufferBudget(long.MaxValue);
        var queue = Queue(long.MaxValue, budget);
        var first = Chunk(1, 3, "small line");
        var second = Chunk(4, 2, Line64K);
        queue.Enqueue(first);
        queue.Enqueue(second);
        var expected = first.Concat(second).Sum(e => (long)e.ApproximateSize);
        Assert.Equal(expected, queue.Bytes);
        Assert.Equal(expected, budget.QueuedBytes);

        Assert.True(queue.TryRead(out var item));
        Assert.Equal(3, item.Count);
        Assert.Equal(second.Sum(e => (long)e.ApproximateSize), queue.Bytes);
        Assert.Equal(queue.Bytes, budget.QueuedBytes);
        Assert.True(queue.TryRead(out _));
        Assert.Equal(0, queue.Bytes);
        Assert.Equal(0, budget.QueuedBytes);
        Assert.Equal(0, budget.ReplayBytes);
    }

    [Fact]
    public void Enqueue_PastByteBound_DropsTheOldestChunksAndCountsEveryLine()
    {
        // Room for three 64 KiB lines; the line bound (1,000) is never reached.
        var queue = Queue(3 * Big + 1);
        queue.Enqueue(Chunk(1, 2, Line64K));
        queue.Enqueue(Chunk(3, 2, Line64K));
        // Four lines do not fit: the oldest chunk (1, 2) goes whole.
        Assert.Equal(2, queue.Count);
        Assert.Equal(2, queue.Dropped);
        queue.Enqueue(Chunk(5, 1, Line64K));
        Assert.Equal(3, queue.Count);
        Assert.Equal(2, queue.Dropped);

        // A chunk larger than the whole bound keeps its newest three lines, and the queue drops everything older.
        queue.Enqueue(Chunk(6, 5, Line64K));
        Assert.Equal(3, queue.Count);
        Assert.Equal(3 * Big, queue.Bytes);
        Assert.Equal(2 + 2 + 2 + 1, queue.Dropped);
        Assert.Equal([8L, 9L, 10L], Drain(queue));
        // Every one of the ten lines was either delivered or counted as dropped.
        Assert.Equal(10, 3 + queue.Dropped);
        Assert.Equal(0, queue.Bytes);
    }

    [Fact]
    public void Enqueue_OneLineLargerThanTheBound_IsStillQueued()
    {
        var queue = Queue(64 * 1024);
        queue.Enqueue(Chunk(1, 2, Line64K));
        Assert.Equal(1, queue.Count);
        Assert.Equal(1, queue.Dropped);
        Assert.Equal([2L], Drain(queue));
    }

    [Fact]
    public void Enqueue_OverTheProcessBudget_DropsOnlyItsOwnOldestAndKeepsItsNewest()
    {
        var budget = new BufferBudget(4 * Big);
        var other = Queue(long.MaxValue, budget);
        other.Enqueue(Chunk(1, 3, Line64K));
        var queue = Queue(long.MaxValue, budget);
        queue.Enqueue(Chunk(1, 1, Line64K));
        Assert.False(budget.IsExceeded);

        // Six lines against a budget of four: the queue adding gives up its own oldest, never the other queue's lines.
        queue.Enqueue(Chunk(2, 2, Line64K));
        Assert.Equal(3, other.Count);
        Assert.Equal(0, other.Dropped);
        Assert.Equal(2, queue.Count);
        Assert.Equal(1, queue.Dropped);
        // Still over (3 + 2 lines): a queue keeps its newest chunk, and says so by holding it.
        Assert.True(budget.IsExceeded);
        Assert.Equal(5 * Big, budget.QueuedBytes);
        Assert.Equal([2L, 3L], Drain(queue));
        Assert.Equal(3 * Big, budget.QueuedBytes);
    }

    [Fact]
    public void Close_GivesWhatIsStillQueuedBackToTheBudget_AndTheReaderCanStillDrainIt()
    {
        var budget = new BufferBudget(long.MaxValue);
        var queue = Queue(long.MaxValue, budget);
        queue.Enqueue(Chunk(1, 4, "line"));
        Assert.True(budget.QueuedBytes > 0);

        queue.Abort(new SubscriberStalledException(TimeSpan.FromSeconds(1)));

        Assert.Equal(0, budget.QueuedBytes);
        Assert.Equal([1L, 2L, 3L, 4L], Drain(queue));
        // Reading after the close does not give the bytes back twice.
        Assert.Equal(0, budget.QueuedBytes);
        Assert.Equal(0, queue.Bytes);
    }

    [Fact]
    public async Task WriteAsync_Lossless_WaitsAtTheByteBoundAndQueuesABigChunkInParts()
    {
        var queue = Queue(2 * Big, lossless: true);
        // Five lines against room for two: written as parts of at most two lines, each waiting for the reader.
        var write = queue.WriteAsync(Chunk(1, 5, Line64K), CancellationToken.None).AsTask();
        Assert.False(write.IsCompleted);
        Assert.Equal(2, queue.Count);

        var read = new List<long>();
        while (read.Count < 5)
        {
            await Eventually(() => queue.Count > 0);
            Assert.True(queue.Bytes <= 2 * Big);
            read.AddRange(Drain(queue));
        }
        await write.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1L, 2L, 3L, 4L, 5L], read);
        Assert.Equal(0, queue.Dropped);
    }

    [Fact]
    public async Task WriteAsync_Lossless_OverTheBudgetWaitsUntilItsOwnQueueIsEmpty()
    {
        var budget = new BufferBudget(2 * Big);
        var other = Queue(long.MaxValue, budget);
        other.Enqueue(Chunk(1, 2, Line64K));
        var queue = Queue(long.MaxValue, budget, lossless: true);

        // An empty queue may always add one chunk, or a reader could never get anything while others fill the budget.
        await queue.WriteAsync(Chunk(1, 1, Line64K), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var second = queue.WriteAsync(Chunk(2, 1, Line64K), CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);

        Assert.Equal([1L], Drain(queue));
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([2L], Drain(queue));
    }

    private static async Task Eventually(Func<bool> condition) =>
        await Fakes.Eventually.True(condition, "the writer to queue its next part", TimeSpan.FromSeconds(20));
}
