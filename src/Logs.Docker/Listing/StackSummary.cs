namespace LogsMigration.Docker.Listing;

/// <summary>
/// A group of services: a Swarm stack (services labelled <c>com.docker.stack.namespace</c>) or a compose project
/// (containers labelled <c>com.docker.compose.project</c>). Services are sorted by name.
/// </summary>
public sealed record StackSummary(string Name, string Kind, IReadOnlyList<string> Services)
{
    public const string SwarmKind = "swarm";
    public const string ComposeKind = "compose";
}
