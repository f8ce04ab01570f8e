using Microsoft.AspNetCore.Authorization;

namespace LogsMigration.Api.Auth;

/// <summary>
/// The role policies, one per <see cref="UserRole"/> above None: a policy admits its role and every higher one.
/// Endpoint groups name one with <c>RequireAuthorization</c>; an endpoint without one is an explicit
/// <c>AllowAnonymous</c>, or it falls back to <see cref="Admin"/>.
/// </summary>
public static class AuthPolicies
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    internal static void Add(AuthorizationOptions options)
    {
        foreach (var (name, role) in new[] { (Viewer, UserRole.Viewer), (Operator, UserRole.Operator), (Admin, UserRole.Admin) })
            options.AddPolicy(name, policy => policy.RequireAuthenticatedUser().AddRequirements(new MinimumRoleRequirement(role)));
        // Fails closed: an endpoint mapped without a policy is for admins only until someone chooses otherwise.
        options.FallbackPolicy = options.GetPolicy(Admin);
    }
}
