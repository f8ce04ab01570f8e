namespace LogsMigration.Docker.Listing;

/// <summary>The labels Docker itself puts on what a stack or a compose project creates.</summary>
internal static class DockerLabels
{
    public const string StackNamespace = "com.docker.stack.namespace";
    public const string ComposeProject = "com.docker.compose.project";
    public const string ComposeService = "com.docker.compose.service";
    public const string SwarmServiceName = "com.docker.swarm.service.name";
    public const string SwarmTaskId = "com.docker.swarm.task.id";

    public static string? Get(IDictionary<string, string>? labels, string name) =>
        labels is not null && labels.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
}
