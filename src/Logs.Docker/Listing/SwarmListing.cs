namespace LogsMigration.Docker.Listing;

/// <summary>
/// A listing that only a Swarm manager can give, with the host's role: a worker or a host outside any swarm gets
/// an empty list, and the role says why.
/// </summary>
public sealed record SwarmListing<T>(string SwarmRole, IReadOnlyList<T> Items);
