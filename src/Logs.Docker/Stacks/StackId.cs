namespace LogsMigration.Docker.Stacks;

/// <summary>Which kind of stack answered a stack route: a Swarm stack, or a Compose project of plain containers.</summary>
public enum StackKind
{
    Swarm,
    Compose,
}

/// <summary>
/// The canonical id of a stack, as the stream key carries it: <c>swarm:&lt;name&gt;</c> or <c>compose:&lt;name&gt;</c>. The
/// kind is part of the id because a Swarm stack and a Compose project of one name are different upstreams: clients of
/// one never share the other's stream, and a resume cursor of one is refused by the other. No Docker name holds a
/// colon, so the id cannot be mistaken for a name.
/// </summary>
public readonly record struct StackId(StackKind Kind, string Name)
{
    private const char Separator = ':';

    public override string ToString() => $"{Kind.ToWire()}{Separator}{Name}";

    public static bool TryParse(string? value, out StackId id)
    {
        id = default;
        var colon = value?.IndexOf(Separator) ?? -1;
        if (colon <= 0)
            return false;
        var kind = value![..colon];
        var name = value[(colon + 1)..];
        if (!DockerResourceName.IsValid(name) || name.StartsWith('/'))
            return false;
        if (kind == StackKind.Swarm.ToWire())
            id = new StackId(StackKind.Swarm, name);
        else if (kind == StackKind.Compose.ToWire())
            id = new StackId(StackKind.Compose, name);
        else
            return false;
        return true;
    }
}

public static class StackKindNames
{
    /// <summary>The wire's <c>stack_kind</c>: <c>swarm</c> or <c>compose</c>.</summary>
    public static string ToWire(this StackKind kind) => kind == StackKind.Swarm ? "swarm" : "compose";
}
