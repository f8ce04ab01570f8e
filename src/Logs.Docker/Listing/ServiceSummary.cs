namespace LogsMigration.Docker.Listing;

/// <summary>One Swarm service, as <c>docker service ls</c> lists it (replicas running/desired).</summary>
public sealed record ServiceSummary(string Id, string Name, ulong ReplicasRunning, ulong ReplicasDesired, string? Stack);
