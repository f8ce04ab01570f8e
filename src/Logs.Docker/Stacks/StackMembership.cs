using Docker.DotNet.Models;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Stacks;

/// <summary>A member of a stack (a service, or a plain container), and whether it should be read now.</summary>
/// <param name="Readable">A Swarm service always is; a Compose container once it runs (or, at a read's start, always: its history).</param>
internal readonly record struct StackMember(string Id, bool Readable);

/// <summary>
/// What a kind of stack is made of and how each part is read; <see cref="StackRead"/> does the rest (fan-in, joining
/// and leaving, the end). One per read.
/// </summary>
internal abstract class StackMembership
{
    /// <summary>
    /// Whether a member whose read ended may be read again in the same read: a Compose container started again, yes; a
    /// Swarm service, never (its read ends only when it is removed, and a new service has a new id), so a listing that
    /// still shows a service just removed cannot make its lines come twice.
    /// </summary>
    public abstract bool MembersRunAgain { get; }

    /// <summary>The members now; empty when the stack no longer exists. <paramref name="initial"/>: the read's first listing.</summary>
    public abstract Task<IReadOnlyList<StackMember>> ListAsync(bool initial, CancellationToken cancellationToken);

    /// <summary>The Docker events that may change the membership, from <paramref name="since"/> (the daemon's clock) on.</summary>
    public abstract ContainerEventsParameters Events(string? since);

    /// <summary>
    /// One member's lines (unmerged). <paramref name="rejoining"/>: this member was read before in this read and runs
    /// again (a Compose container started after its read ended), so the read starts where its new run does.
    /// </summary>
    public abstract IAsyncEnumerable<SourceRecord> ReadAsync(string id, SourceStart start, bool rejoining, CancellationToken cancellationToken);
}
