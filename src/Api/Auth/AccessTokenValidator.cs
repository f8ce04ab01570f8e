using LogsMigration.Api.Streaming;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace LogsMigration.Api.Auth;

/// <summary>A checked caller, or why the check failed (a protocol error code and a reason safe to show).</summary>
public sealed record AuthResult(bool Succeeded, string? UserId, UserRole Role, string? ErrorCode, string? Reason)
{
    public static AuthResult Fail(string code, string reason) => new(false, null, UserRole.None, code, reason);
}

/// <summary>
/// The rules of the product's access tokens: JWTs signed with HS256, carrying <c>sub</c>, <c>type</c> = <c>access</c>
/// (refresh tokens are refused), an expiry and a role. The JWT bearer handler validates with these
/// <see cref="Parameters"/> and <see cref="CheckClaims"/>; <see cref="Refusal"/> names why a token was refused.
/// </summary>
public sealed class AccessTokenValidator
{
    private readonly TokenValidationParameters _parameters;

    public AccessTokenValidator(IOptions<AuthOptions> options, TimeProvider time)
    {
        var o = options.Value;
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(o.GetKeyBytes()),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuerSigningKey = true,
            ValidateIssuer = !string.IsNullOrEmpty(o.Issuer),
            ValidIssuer = o.Issuer,
            ValidateAudience = !string.IsNullOrEmpty(o.Audience),
            ValidAudience = o.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = o.ClockSkew,
            // Expiry is judged by the injected clock, so tests can control it.
            LifetimeValidator = (notBefore, expires, _, p) => IsWithinLifetime(notBefore, expires, p.ClockSkew, time.GetUtcNow()),
        };
    }

    /// <summary>
    /// The validation parameters of every check, this class's and the JWT bearer handler's (issuer, audience, key,
    /// HS256 only, expiry by the injected clock), so both accept and refuse the same tokens.
    /// </summary>
    public TokenValidationParameters Parameters => _parameters;

    /// <summary>No token at all.</summary>
    public static AuthResult Missing { get; } =
        AuthResult.Fail(ErrorCodes.Unauthorized, "An access token is required (an Authorization: Bearer header; the WebSocket routes and downloads also read the token query parameter).");

    /// <summary>
    /// The claims a valid signature does not vouch for: <c>type</c> must be <c>access</c> and <c>sub</c> present.
    /// Null when they are fine.
    /// </summary>
    public static TokenRefusedException? CheckClaims(string? type, string? subject)
    {
        if (!string.Equals(type, "access", StringComparison.Ordinal))
            return new TokenRefusedException(ErrorCodes.TokenNotAccess, "Only access tokens may open a log stream; this one is not (refresh tokens are refused).");
        if (string.IsNullOrEmpty(subject))
            return new TokenRefusedException(ErrorCodes.TokenInvalid, "The access token has no subject.");
        return null;
    }

    /// <summary>Why a token was refused, from the exception its validation failed with (null: no token was given).</summary>
    public static AuthResult Refusal(Exception? failure) => failure switch
    {
        null => Missing,
        TokenRefusedException refused => AuthResult.Fail(refused.Code, refused.Message),
        SecurityTokenExpiredException or SecurityTokenInvalidLifetimeException => AuthResult.Fail(ErrorCodes.TokenExpired, "The access token has expired."),
        SecurityTokenNoExpirationException => AuthResult.Fail(ErrorCodes.TokenInvalid, "The access token has no expiry."),
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => AuthResult.Fail(ErrorCodes.TokenInvalid, "The access token's signature is not valid."),
        SecurityTokenInvalidAlgorithmException => AuthResult.Fail(ErrorCodes.TokenInvalid, "The access token is not signed with HS256."),
        ArgumentException => AuthResult.Fail(ErrorCodes.TokenInvalid, "The access token is malformed."),
        _ => AuthResult.Fail(ErrorCodes.TokenInvalid, "The access token is not valid."),
    };

    private static bool IsWithinLifetime(DateTime? notBefore, DateTime? expires, TimeSpan skew, DateTimeOffset now)
    {
        if (expires is null)
            throw new SecurityTokenNoExpirationException("The token has no expiry.");
        if (notBefore is { } nbf && now + skew < nbf)
            throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = nbf };
        if (now - skew >= expires.Value)
            throw new SecurityTokenExpiredException("The token has expired.") { Expires = expires.Value };
        return true;
    }
}
