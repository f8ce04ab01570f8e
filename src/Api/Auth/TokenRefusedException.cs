namespace LogsMigration.Api.Auth;

/// <summary>A token whose signature and lifetime are fine but whose claims are not (a refresh token, no subject).</summary>
public sealed class TokenRefusedException(string code, string reason) : Exception(reason)
{
    public string Code { get; } = code;
}
