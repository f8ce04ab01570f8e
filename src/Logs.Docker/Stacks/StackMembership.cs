using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Stacks;

/// <summary>A member of a stack (a service, or a plain container) as a listing shows it.</summary>
/// <param name="HasRun">Has lines to read: a Swarm service always; a Compose container once it was started (running or exited since).</param>
/// <param name="Running">Runs now: a Swarm service always; a Compose container while it is running.</param>
internal readonly record struct StackMember(string Id, bool HasRun, bool Running);

/// <summary>
/// What a kind of stack is made of and how each part is read; <see cref="StackRead"/> does the rest (fan-in, joining
/// and leaving, a member's failure, the end). One per read. Abstract so the read's rules are tested without a daemon.
/// </summary>
internal abstract class StackMembership
{
    /// <summary>
    /// Whether a member whose read ended may be read again in the same read: a Compose container started again, yes; a
    /// Swarm service, never (its read ends only when it is removed, and a new service has a new id), so a listing that
    /// still shows a service just removed cannot make its lines come twice.
    /// </summary>
    public abstract bool MembersRunAgain { get; }

    /// <summary>The members now; empty when the stack no longer exists.</summary>
    public abstract Task<IReadOnlyList<StackMember>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The daemon's clock, as its events' <c>since</c> wants it; null (from now) when the daemon does not say.</summary>
    public abstract Task<string?> DaemonNowAsync(CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="changed"/> for each event that may change the membership, from <paramref name="since"/> on; throws when the events cannot be watched.</summary>
    public abstract Task WatchAsync(string? since, Action changed, CancellationToken cancellationToken);

    /// <summary>
    /// One member's lines (unmerged). <paramref name="rejoining"/>: this member was read before in this read and runs
    /// again (a Compose container started after its read ended), so the read starts where its new run does.
    /// </summary>
    public abstract IAsyncEnumerable<SourceRecord> ReadAsync(string id, SourceStart start, bool rejoining, CancellationToken cancellationToken);

    /// <summary>
    /// Which run of a member is current (a Compose container's start time), so a member whose read failed is read again
    /// at once when it runs again; null when that cannot be told or members do not run again.
    /// </summary>
    public virtual Task<string?> CurrentRunAsync(string id, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>
    /// The replica ids (<see cref="StackLabels.ReplicaIdMetadata"/>) of a member that run now, so the replicas gone (a
    /// replaced or crashed task) are forgotten and a reopen does not read their old lines again; null when that cannot
    /// be told or a member has one replica only.
    /// </summary>
    public virtual Task<IReadOnlySet<string>?> RunningReplicasAsync(string id, CancellationToken cancellationToken) => Task.FromResult<IReadOnlySet<string>?>(null);

    /// <summary>What a member is called in a marker: "service web", "container db-1".</summary>
    public abstract string Describe(string id);
}

/// <summary>The parts both kinds read the same way from one daemon: its clock and its event stream.</summary>
internal abstract class DockerStackMembership(DockerClient client, StreamKey key) : StackMembership
{
    protected DockerClient Client { get; } = client;

    protected StreamKey Key { get; } = key;

    /// <summary>The Docker events that may change the membership, from <paramref name="since"/> (the daemon's clock) on.</summary>
    protected abstract ContainerEventsParameters Events(string? since);

    public override async Task<string?> DaemonNowAsync(CancellationToken cancellationToken)
    {
        var info = await DockerErrors.GuardAsync(Key.HostId, ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
            () => Client.System.GetSystemInfoAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        return info.SystemTime is { Length: > 0 } now && LogTimestamp.TryParse(now, out var timestamp) ? timestamp.ToUnixSecondsString() : null;
    }

    public override Task WatchAsync(string? since, Action changed, CancellationToken cancellationToken) =>
        Client.System.MonitorEventsAsync(Events(since), new SyncProgress<Message>(_ => changed()), cancellationToken);
}
