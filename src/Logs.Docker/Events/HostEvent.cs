namespace LogsMigration.Docker.Events;

/// <summary>
/// A container or service of a host appeared, changed state or went away, as the <c>/ws/hosts/{id}/events</c> feed
/// sends it. Immutable: one instance goes to every client of the host.
/// </summary>
/// <param name="Kind"><c>container</c> or <c>service</c>.</param>
/// <param name="Action">Docker's action (<c>create</c>, <c>start</c>, <c>die</c>, <c>destroy</c>, <c>update</c>, <c>remove</c>, …).</param>
/// <param name="State">The container state the action leads to (<c>running</c>, <c>exited</c>, …); null when the action says none.</param>
public sealed record HostEvent(string Kind, string Action, string Id, string? Name, string? State, DateTimeOffset Timestamp)
{
    public const string ContainerKind = "container";
    public const string ServiceKind = "service";
}
