using System.Text.RegularExpressions;

namespace LogsMigration.Docker;

/// <summary>
/// What a container or service id or name can look like. The client library puts the id into the request path
/// unescaped, so anything else is refused before it reaches the daemon.
/// </summary>
internal static partial class DockerResourceName
{
    public static bool IsValid(string? value) => value is not null && Pattern().IsMatch(value);

    // Names are [a-zA-Z0-9][a-zA-Z0-9_.-]*, ids are hex; a container name may be written with Docker's leading slash.
    [GeneratedRegex("^/?[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")]
    private static partial Regex Pattern();
}
