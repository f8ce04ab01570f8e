namespace LogsMigration.Pipeline.Positions;

/// <summary>
/// Where one partition of a stream (a container as a whole; one task of a service) stands: the last line passed on,
/// by its timestamp and its identity. The line itself locates the position in any later read of the same log: every
/// line of the partition after it in Docker's order is new, every line before it was passed on.
/// </summary>
/// <param name="Partition">The partition's identity (<see cref="LineIdentity.OfPartition"/>).</param>
/// <param name="LastTimestamp">Timestamp of the last line passed on, Unix nanoseconds.</param>
/// <param name="LastLine">Identity of that line (<see cref="LineIdentity.Of"/>).</param>
public readonly record struct PartitionPosition(ulong Partition, long LastTimestamp, ulong LastLine);

/// <summary>
/// A stream's position after one line: every partition's last line. Partitions beyond the tracked bound are folded
/// into <see cref="Floor"/>: a line of a partition not listed is before this position when its timestamp is at or
/// below the floor. Immutable, shared by the entry that carries it.
/// </summary>
public sealed class StreamPosition(long floor, PartitionPosition[] partitions)
{
    public static StreamPosition Empty { get; } = new(long.MinValue, []);

    /// <summary>Lines of partitions not listed at or below this timestamp (Unix ns) are before the position.</summary>
    public long Floor { get; } = floor;

    public IReadOnlyList<PartitionPosition> Partitions => partitions;

    internal PartitionPosition[] PartitionArray => partitions;
}
