using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Auth;

/// <summary>The caller's role (the <see cref="AuthOptions.RoleClaim"/> claim) is at least <see cref="Role"/>.</summary>
public sealed record MinimumRoleRequirement(UserRole Role) : IAuthorizationRequirement
{
    /// <summary>What a caller below the role is told.</summary>
    public string Refusal => $"This needs the '{Role.ToString().ToLowerInvariant()}' role or higher.";

    internal sealed class Handler(IOptions<AuthOptions> options) : AuthorizationHandler<MinimumRoleRequirement>
    {
        private readonly string _roleClaim = options.Value.RoleClaim;

        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, MinimumRoleRequirement requirement)
        {
            if (UserRoles.Parse(context.User.FindFirst(_roleClaim)?.Value) >= requirement.Role)
                context.Succeed(requirement);
            return Task.CompletedTask;
        }
    }
}
