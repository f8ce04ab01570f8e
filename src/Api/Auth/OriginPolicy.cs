using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Auth;

/// <summary>
/// <see cref="AuthOptions.AllowedOrigins"/> for a WebSocket route, against cross-site WebSocket hijacking: a browser
/// <c>Origin</c> outside the list is refused; no list, or no <c>Origin</c> (not a browser), passes.
/// </summary>
public sealed class OriginPolicy(IOptions<AuthOptions> options)
{
    private readonly HashSet<string> _allowed = new(options.Value.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    public bool Allows(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        return origin.Length == 0 || _allowed.Count == 0 || _allowed.Contains(origin.TrimEnd('/'));
    }
}
