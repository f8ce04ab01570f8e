using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Auth;

public static class AuthorizationExtensions
{
    private const string TokenQuery = "token";

    /// <summary>
    /// The product's access tokens through ASP.NET Core: the JWT bearer handler with <see cref="AccessTokenValidator"/>'s
    /// parameters and claim checks, reading <c>Authorization: Bearer</c>, or the <c>token</c> query on the endpoints that
    /// take one (<see cref="QueryTokenAllowed"/>: the WebSocket routes, which browsers cannot give headers, read the query
    /// first, as before; an HTTP endpoint that opted in reads it without a header); the role policies of
    /// <see cref="AuthPolicies"/>; and <see cref="AuthRefusalHandler"/> for the refusals' codes and bodies.
    /// </summary>
    public static WebApplicationBuilder AddApiAuthorization(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<AccessTokenValidator>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<AccessTokenValidator, IOptions<AuthOptions>>((options, validator, auth) =>
        {
            var roleClaim = auth.Value.RoleClaim;
            options.MapInboundClaims = false;
            options.TokenValidationParameters = validator.Parameters;
            options.Events = new JwtBearerEvents
            {
                OnMessageReceived = ReadQueryToken,
                OnTokenValidated = context =>
                {
                    if (AccessTokenValidator.CheckClaims(context.Principal?.FindFirst("type")?.Value, context.Principal?.UserId()) is { } refused)
                        context.Fail(refused);
                    else if (context.Principal is { } principal)
                        context.Principal = Slim(principal, roleClaim);
                    return Task.CompletedTask;
                },
                // The refusal is written by AuthRefusalHandler, for HTTP and WebSocket routes alike.
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    return Task.CompletedTask;
                },
            };
        });
        services.AddAuthorization(AuthPolicies.Add);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, MinimumRoleRequirement.Handler>());
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AuthRefusalHandler>();
        return builder;
    }

    public static WebApplication UseApiAuthorization(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// A group of WebSocket routes that need <paramref name="policy"/> and refuse in-band (error frame, close 1008)
    /// rather than with an HTTP status before the upgrade.
    /// </summary>
    public static RouteGroupBuilder MapWebSocketGroup(this IEndpointRouteBuilder app, string policy) =>
        app.MapGroup("").RequireAuthorization(policy).WithMetadata(InBandAuthorization.Instance);

    /// <summary>
    /// The user as the service needs it once the token is validated: its <c>sub</c> and its role, nothing else. The
    /// principal stays with the request for a WebSocket session's whole life (the authentication handler caches it),
    /// and the validated one holds every claim, the parsed token and its dictionaries: about 3 KiB per open session.
    /// </summary>
    private static ClaimsPrincipal Slim(ClaimsPrincipal principal, string roleClaim)
    {
        var identity = principal.Identity as ClaimsIdentity;
        var claims = new List<Claim>(2);
        if (principal.FindFirst("sub") is { } subject)
            claims.Add(new Claim(subject.Type, subject.Value));
        if (principal.FindFirst(roleClaim) is { } role)
            claims.Add(new Claim(role.Type, role.Value));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, identity?.AuthenticationType ?? JwtBearerDefaults.AuthenticationScheme, "sub", roleClaim));
    }

    private static Task ReadQueryToken(MessageReceivedContext context)
    {
        var query = context.Request.Query[TokenQuery].ToString();
        var endpoint = context.HttpContext.GetEndpoint();
        // Elsewhere a token in the URL is ignored: the request is judged by its header alone (no header: 401).
        if (query.Length == 0 || !QueryTokenAllowed.For(endpoint))
            return Task.CompletedTask;
        var header = context.Request.Headers.Authorization.ToString();
        var inBand = endpoint?.Metadata.GetMetadata<InBandAuthorization>() is not null;
        if (inBand || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            context.Token = query;
        return Task.CompletedTask;
    }
}
