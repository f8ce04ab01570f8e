namespace LogsMigration.Api.Auth;

/// <summary>The product's roles, lowest first. Viewing logs needs <see cref="Viewer"/>; the admin API needs <see cref="Admin"/>.</summary>
public enum UserRole
{
    None = 0,
    Viewer = 1,
    Operator = 2,
    Admin = 3,
}

public static class UserRoles
{
    public static UserRole Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "viewer" => UserRole.Viewer,
        "operator" or "user" or "editor" => UserRole.Operator,
        "admin" or "administrator" => UserRole.Admin,
        _ => UserRole.None,
    };
}
