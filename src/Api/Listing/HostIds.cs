using System.Text.RegularExpressions;

namespace LogsMigration.Api.Listing;

/// <summary>The format of a host id in a path, the same rule as the log routes' <c>host_id</c> parameter.</summary>
internal static partial class HostIds
{
    public const string FormatMessage = "The host id must be 1 to 64 characters of letters, digits, '_', '.' or '-'.";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsWellFormed(string hostId) => Pattern().IsMatch(hostId);
}
