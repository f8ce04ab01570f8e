namespace LogsMigration.Docker.Stacks;

/// <summary>The labels Docker's tools put on what a stack is made of, and the metadata keys of a stack's lines.</summary>
internal static class StackLabels
{
    /// <summary>Set by <c>docker stack deploy</c> on every service of the stack.</summary>
    public const string SwarmNamespace = "com.docker.stack.namespace";

    /// <summary>Set by Compose on every container of a project, with its service and the container's number in it.</summary>
    public const string ComposeProject = "com.docker.compose.project";
    public const string ComposeService = "com.docker.compose.service";
    public const string ComposeContainerNumber = "com.docker.compose.container-number";

    /// <summary>
    /// What a stack's <c>tail</c> and resume position count by: the replica that wrote a line, a task id for a Swarm
    /// stack (as for a service) and a container id for a Compose project, one metadata key for both kinds.
    /// </summary>
    public const string ReplicaIdMetadata = "replica_id";

    /// <summary>A filter on one label value, in the Docker API's filter shape.</summary>
    public static Dictionary<string, IDictionary<string, bool>> Filter(string label, string value) => new()
    {
        ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true },
    };
}
