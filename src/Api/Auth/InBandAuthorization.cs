using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Auth;

/// <summary>
/// Endpoint metadata of the WebSocket routes. Their contract is to accept the socket and then refuse with an
/// <c>error</c> frame and close 1008, which an HTTP 401 before the upgrade cannot say; so the authorization
/// middleware lets a refused request through to them (see <see cref="AuthRefusalHandler"/>), with the refusal in
/// <see cref="Feature"/>, and the session sends it after the accept. Same scheme, same policies, same codes.
/// </summary>
public sealed class InBandAuthorization
{
    public static InBandAuthorization Instance { get; } = new();

    private InBandAuthorization()
    {
    }

    /// <summary>Why the authorization middleware refused the request.</summary>
    public sealed record Feature(AuthResult Refusal);

    /// <summary>
    /// The caller of an in-band route as the authorization middleware judged it: its refusal, or the authenticated
    /// user. Fails closed: a request that no policy judged is unauthorized. (The principal stays with the request for
    /// the socket's life: the authentication handler and service of the request's scope cache it, so replacing
    /// <c>HttpContext.User</c> would not free it.)
    /// </summary>
    public static AuthResult Outcome(HttpContext context)
    {
        if (context.Features.Get<Feature>() is { } refused)
            return refused.Refusal;
        var user = context.User;
        var subject = user.UserId();
        if (user.Identity?.IsAuthenticated != true || subject is null)
            return AccessTokenValidator.Missing;
        var roleClaim = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.RoleClaim;
        return new AuthResult(true, subject, UserRoles.Parse(user.FindFirst(roleClaim)?.Value), null, null);
    }
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The token's <c>sub</c>: who did it, for audit lines (claims are not renamed on the way in).</summary>
    public static string? UserId(this ClaimsPrincipal user) => user.FindFirst("sub")?.Value;
}
