using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// Where a stream's live read starts for a partition it has passed no line of yet (a replica quiet so far, or whose
/// first lines have not reached the stream: the merge window, a slower node): every line of it stamped at or after
/// <see cref="From"/> will come live (Docker's <c>since</c> is inclusive), none before; null: every line of it will.
/// Partitions the stream has passed lines of go on after their last line (the stream's position). A read of older lines
/// for one client must leave the first kind to the live read and take the second, or it repeats or loses them.
/// <see cref="Floor"/> is the stream's floor when the read started (<see cref="Positions.StreamPosition.Floor"/>): the read
/// takes a not-listed partition's lines stamped at or below it for passed on already, so they do not come live either.
/// The floor rises later, as busy partitions push others out of the position, but that says nothing about a partition
/// the stream has never passed a line of.
/// </summary>
internal sealed record LiveReadStart(LogTimestamp? From, long Floor = long.MinValue)
{
    /// <summary>Where a read that must find <paramref name="position"/> again starts (<see cref="Positions.PositionTracker.ReadFrom"/>).</summary>
    public static LiveReadStart At(Positions.StreamPosition position, TimeSpan margin) =>
        new(Positions.PositionTracker.ReadFrom(position, margin), position.Floor);
}
