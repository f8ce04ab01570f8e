using LogsMigration.Pipeline.Streaming;
using static LogsMigration.Tests.Unit.Pipeline.BufferTestEntries;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class ReplayBufferBytesTests
{
    [Fact]
    public void Bytes_CountTheFramesEachEntryCaches()
    {
        var replay = new ReplayBuffer(100, long.MaxValue);
        var entries = Chunk(1, 10, new string('y', 5000));
        foreach (var entry in entries)
            replay.Append(entry);

        Assert.Equal(entries.Sum(e => (long)e.ApproximateSize), replay.Bytes);
        // Once every subscriber format has been sent, the buffer's figure still covers what it holds.
        Assert.True(replay.Bytes >= entries.Sum(Held));
    }

    [Fact]
    public void Append_PastByteBound_KeepsTheNewestThatFitFramesIncluded()
    {
        var size = Entry(1, Line64K).ApproximateSize;
        var replay = new ReplayBuffer(100, 3L * size);
        foreach (var entry in Chunk(1, 10, Line64K))
            replay.Append(entry);

        // Counted as text alone (128 KiB each) the buffer would have kept eight of them; with their frames, three.
        Assert.Equal(3, replay.Count);
        Assert.Equal(8, replay.OldestSequence);
        Assert.Equal(3L * size, replay.Bytes);
    }

    [Fact]
    public void Append_OverTheProcessBudget_DropsItsOwnOldestNeverAnotherStreams()
    {
        var size = Entry(1, Line64K).ApproximateSize;
        var budget = new BufferBudget(5L * size);
        var quiet = new ReplayBuffer(100, long.MaxValue, budget);
        foreach (var entry in Chunk(1, 2, Line64K))
            quiet.Append(entry);
        var busy = new ReplayBuffer(100, long.MaxValue, budget);
        foreach (var entry in Chunk(1, 10, Line64K))
            busy.Append(entry);

        Assert.Equal(2, quiet.Count);
        Assert.Equal(3, busy.Count);
        Assert.Equal([8L, 9L, 10L], busy.After(0).Select(e => e.Sequence));
        Assert.Equal(5L * size, budget.ReplayBytes);
        Assert.False(budget.IsExceeded);
    }

    [Fact]
    public void Append_OverTheBudgetByOthers_StillKeepsItsNewestLine()
    {
        var size = Entry(1, Line64K).ApproximateSize;
        var budget = new BufferBudget(2L * size);
        var full = new ReplayBuffer(100, long.MaxValue, budget);
        foreach (var entry in Chunk(1, 2, Line64K))
            full.Append(entry);
        var late = new ReplayBuffer(100, long.MaxValue, budget);
        foreach (var entry in Chunk(1, 3, Line64K))
            late.Append(entry);

        Assert.Equal(2, full.Count);
        Assert.Equal(1, late.Count);
        Assert.Equal(3, late.HeadSequence);
    }

    [Fact]
    public void ReleaseBudget_GivesTheBytesBackOnceAndKeepsTheEntriesReadable()
    {
        var budget = new BufferBudget(long.MaxValue);
        var replay = new ReplayBuffer(100, long.MaxValue, budget);
        foreach (var entry in Chunk(1, 5, "line"))
            replay.Append(entry);
        Assert.Equal(replay.Bytes, budget.ReplayBytes);

        replay.ReleaseBudget();
        replay.ReleaseBudget();

        Assert.Equal(0, budget.ReplayBytes);
        Assert.Equal(5, replay.After(0).Length);
    }
}
