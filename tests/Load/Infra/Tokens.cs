using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LogsMigration.Load.Infra;

/// <summary>A signing key for one run and the HS256 access tokens the service expects (sub, type=access, role, exp).</summary>
internal sealed class Tokens
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The key as the service reads it from <c>Auth__SigningKey</c>.</summary>
    public string SigningKeySetting => "base64:" + Convert.ToBase64String(_key);

    public string Mint(string subject, string role) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["type"] = "access", ["role"] = role },
            Expires = DateTime.UtcNow.AddHours(3),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(_key), SecurityAlgorithms.HmacSha256),
        });
}
