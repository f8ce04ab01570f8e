namespace LogsMigration.Docker.Listing;

/// <summary>One container of a host (running or not), as <c>docker ps -a</c> lists it.</summary>
/// <param name="Name">Without Docker's leading slash.</param>
/// <param name="StartedAt">When it last started; null if it never did.</param>
/// <param name="Service">The Swarm service of a task's container, else the compose service.</param>
public sealed record ContainerSummary(
    string Id,
    string Name,
    string State,
    string Image,
    DateTimeOffset? StartedAt,
    string? ComposeProject,
    string? Stack,
    string? Service,
    string? TaskId);
