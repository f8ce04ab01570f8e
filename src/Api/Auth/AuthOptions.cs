using System.Text;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Auth;

/// <summary>How access tokens are checked. Bound from the <c>Auth</c> section; validated at start-up.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";
    private const string Base64Prefix = "base64:";
    private const int MinimumKeyBytes = 32;

    /// <summary>
    /// The HS256 key shared with the product's auth service: its UTF-8 bytes, or <c>base64:…</c> for raw bytes.
    /// Required, at least 32 bytes; there is no built-in default.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>Expected <c>iss</c>; not checked when empty.</summary>
    public string? Issuer { get; set; }

    /// <summary>Expected <c>aud</c>; not checked when empty.</summary>
    public string? Audience { get; set; }

    /// <summary>Tolerated clock difference with the auth service when checking expiry. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Origins (<c>scheme://host[:port]</c>) whose pages may open a log WebSocket; others are refused with 1008,
    /// against cross-site WebSocket hijacking. Empty: any origin (for development only). Requests without an
    /// <c>Origin</c> header (not from a browser) are allowed: they cannot carry a victim's cookies.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>The claim that carries the user's role. Default <c>role</c>.</summary>
    public string RoleClaim { get; set; } = "role";

    internal byte[] GetKeyBytes() =>
        SigningKey is null ? []
        : SigningKey.StartsWith(Base64Prefix, StringComparison.Ordinal) ? Convert.FromBase64String(SigningKey[Base64Prefix.Length..])
        : Encoding.UTF8.GetBytes(SigningKey);

    internal sealed class Validator : IValidateOptions<AuthOptions>
    {
        public ValidateOptionsResult Validate(string? name, AuthOptions o)
        {
            var errors = new List<string>();
            if (string.IsNullOrWhiteSpace(o.SigningKey))
            {
                errors.Add("Auth:SigningKey is required (the HS256 key shared with the auth service; set Auth__SigningKey).");
            }
            else
            {
                try
                {
                    if (o.GetKeyBytes().Length < MinimumKeyBytes)
                        errors.Add($"Auth:SigningKey must be at least {MinimumKeyBytes} bytes for HS256.");
                }
                catch (FormatException)
                {
                    errors.Add("Auth:SigningKey starts with 'base64:' but the rest is not base64.");
                }
            }
            if (o.ClockSkew < TimeSpan.Zero || o.ClockSkew > TimeSpan.FromMinutes(10))
                errors.Add($"Auth:ClockSkew must be between 00:00:00 and 00:10:00 (was {o.ClockSkew}).");
            foreach (var origin in o.AllowedOrigins)
            {
                if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.Query.Length > 0)
                    errors.Add($"Auth:AllowedOrigins entry '{origin}' is not an origin (scheme://host[:port]).");
            }
            if (string.IsNullOrWhiteSpace(o.RoleClaim))
                errors.Add("Auth:RoleClaim must not be empty.");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
