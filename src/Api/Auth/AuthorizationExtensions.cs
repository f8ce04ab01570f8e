using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<AccessTokenValidator>((options, validator) =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = validator.Parameters;
            options.Events = new JwtBearerEvents
            {
                OnMessageReceived = ReadQueryToken,
                OnTokenValidated = context =>
                {
                    if (AccessTokenValidator.CheckClaims(context.Principal?.FindFirst("type")?.Value, context.Principal?.UserId()) is { } refused)
                        context.Fail(refused);
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
