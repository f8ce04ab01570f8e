using LogsMigration.Docker.Stacks;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Tests.Unit.Docker;

/// <summary>
/// A stack member's progress per replica (<see cref="MemberProgress"/>): what it keeps stays bounded while tasks are
/// replaced for ever, and a reopen starts at the replicas still running, not at a task shut down hours ago.
/// </summary>
public sealed class StackMemberProgressTests
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);
    private static readonly long MarginNanos = Margin.Ticks * 100;
    private static readonly long Origin = LogTimestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)).UnixNanoseconds;

    [Fact]
    public void ATaskReplacedOverAndOver_KeepsOnlyTheReplicasThatMayComeAgain()
    {
        var progress = new MemberProgress(Margin, maxReplicas: 256);
        // A crash-looping replica: a new task every 5 s, three lines each, only the newest one running.
        for (var i = 0; i < 2_000; i++)
        {
            var task = $"task-{i}";
            for (var k = 0; k < 3; k++)
            {
                Assert.True(progress.Offer(Line(task, Seconds(i * 5) + k, $"line {k}")));
                if (progress.HasNewReplica)
                    progress.Retain(new HashSet<string> { task });
            }
        }

        Assert.Equal(1, progress.TrackedReplicas);
    }

    [Fact]
    public void WhenTheRunningReplicasAreNotKnown_TheCapBoundsThem()
    {
        var progress = new MemberProgress(Margin, maxReplicas: 16);
        for (var i = 0; i < 1_000; i++)
        {
            progress.Offer(Line($"task-{i}", Seconds(i), "hello"));
            if (progress.HasNewReplica)
                progress.Retain(null);
        }

        Assert.Equal(16, progress.TrackedReplicas);
    }

    [Fact]
    public void AReopen_StartsAtTheOldestRunningReplica_NotAtATaskShutDownLongBefore()
    {
        var progress = new MemberProgress(Margin, maxReplicas: 256);
        progress.Offer(Line("old", Seconds(1), "before the update"));
        progress.Offer(Line("new-1", Seconds(3_600), "a"));
        progress.Offer(Line("new-2", Seconds(3_601), "b"));

        var from = progress.ReopenFrom(SourceStart.LiveAll(), new HashSet<string> { "new-1", "new-2" });

        Assert.Equal(Origin + Seconds(3_600) - MarginNanos, from!.Since!.Value.UnixNanoseconds);
        // Nothing of the shut-down task can come again from there: it is forgotten.
        Assert.Equal(2, progress.TrackedReplicas);
    }

    [Fact]
    public void AReopen_StillCoversATaskThatStoppedWithinTheMarginOfTheNewestLine()
    {
        var progress = new MemberProgress(Margin, maxReplicas: 256);
        // Stopped just now: a line it stamped a little before its last may still be on its way.
        progress.Offer(Line("stopped", Seconds(100) - MarginNanos / 2, "last words"));
        progress.Offer(Line("running", Seconds(100), "a"));

        var from = progress.ReopenFrom(SourceStart.LiveAll(), new HashSet<string> { "running" });

        Assert.Equal(Origin + Seconds(100) - MarginNanos / 2 - MarginNanos, from!.Since!.Value.UnixNanoseconds);
        Assert.Equal(2, progress.TrackedReplicas);
        // Its line given again by the reopened read is a repeat.
        Assert.False(progress.Offer(Line("stopped", Seconds(100) - MarginNanos / 2, "last words")));
    }

    [Fact]
    public void AReopen_WhenTheRunningReplicasAreNotKnown_StartsAtTheOldestReplica()
    {
        var progress = new MemberProgress(Margin, maxReplicas: 256);
        progress.Offer(Line("quiet", Seconds(1), "once"));
        progress.Offer(Line("busy", Seconds(3_600), "a"));

        var from = progress.ReopenFrom(SourceStart.LiveAll(), running: null);

        Assert.Equal(Origin + Seconds(1) - MarginNanos, from!.Since!.Value.UnixNanoseconds);
        Assert.False(progress.Offer(Line("quiet", Seconds(1), "once")));
    }

    private static long Seconds(long seconds) => seconds * 1_000_000_000L;

    private static SourceRecord Line(string replica, long nanos, string text) =>
        new(new LogTimestamp(Origin + nanos), false, OutputStream.Stdout, text, LogSeverity.Info,
            new Dictionary<string, string> { [StackLabels.ReplicaIdMetadata] = replica });
}
