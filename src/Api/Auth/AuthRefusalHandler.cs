using LogsMigration.Api.Operations;
using LogsMigration.Api.Streaming;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace LogsMigration.Api.Auth;

/// <summary>
/// What a refused request gets: on HTTP routes 401 (no or bad token) or 403 (role too low) with the protocol's code in
/// <c>{"error":{"code","message"}}</c>; on <see cref="InBandAuthorization"/> routes nothing yet, the request goes on
/// to the WebSocket session, which refuses after the accept.
/// </summary>
internal sealed class AuthRefusalHandler : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context);
            return;
        }
        var refusal = authorizeResult.Forbidden
            ? AuthResult.Fail(ErrorCodes.Forbidden, policy.Requirements.OfType<MinimumRoleRequirement>().FirstOrDefault()?.Refusal ?? "This is not allowed for this user.")
            // The scheme's handler keeps its result for the request: this does not validate the token a second time.
            : AccessTokenValidator.Refusal((await context.AuthenticateAsync()).Failure);
        if (context.GetEndpoint()?.Metadata.GetMetadata<InBandAuthorization>() is not null)
        {
            context.Features.Set(new InBandAuthorization.Feature(refusal));
            await next(context);
            return;
        }
        var forbidden = refusal.ErrorCode == ErrorCodes.Forbidden;
        if (!forbidden)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        await HttpErrors.Result(refusal.ErrorCode!, refusal.Reason!, forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized)
            .ExecuteAsync(context);
    }
}
