using System.Text.Json.Serialization;

namespace LogsMigration.Docker.Listing;

/// <summary>One configured Docker host as <c>GET /api/v1/hosts</c> shows it.</summary>
/// <param name="Error">Why the host could not be asked (only when it is not reachable).</param>
public sealed record HostSummary(
    string Id,
    bool Reachable,
    string? DockerVersion,
    string SwarmRole,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);
