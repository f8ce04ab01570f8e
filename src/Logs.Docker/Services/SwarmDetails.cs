namespace LogsMigration.Docker.Services;

/// <summary>
/// The attributes a <c>details=1</c> service log line carries after its timestamp:
/// <c>com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=…</c> (URL-escaped).
/// </summary>
internal readonly record struct SwarmDetails(string? NodeId, string? ServiceId, string? TaskId)
{
    private const string NodeIdKey = "com.docker.swarm.node.id";
    private const string ServiceIdKey = "com.docker.swarm.service.id";
    private const string TaskIdKey = "com.docker.swarm.task.id";

    public static SwarmDetails Parse(string details)
    {
        string? node = null, service = null, task = null;
        foreach (var range in details.AsSpan().Split(','))
        {
            var pair = details.AsSpan()[range];
            var equals = pair.IndexOf('=');
            if (equals <= 0)
                continue;
            var name = pair[..equals];
            var value = Uri.UnescapeDataString(pair[(equals + 1)..].ToString());
            if (name.SequenceEqual(NodeIdKey))
                node = value;
            else if (name.SequenceEqual(ServiceIdKey))
                service = value;
            else if (name.SequenceEqual(TaskIdKey))
                task = value;
        }
        return new SwarmDetails(node, service, task);
    }
}
