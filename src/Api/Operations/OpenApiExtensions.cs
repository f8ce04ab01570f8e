using Microsoft.OpenApi;

namespace LogsMigration.Api.Operations;

public static class OpenApiExtensions
{
    private const string BearerScheme = "bearer";

    /// <summary>
    /// The OpenAPI document of the HTTP endpoints (ASP.NET Core's built-in generator), served at
    /// <c>/openapi/v1.json</c> by <see cref="MapApiDocument"/>; it names the bearer token every non-open endpoint needs.
    /// </summary>
    public static WebApplicationBuilder AddApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "LogsMigration";
            document.Info.Description = "Listings and operations endpoints. The WebSocket log and events routes are described in docs/protocol.md.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = BearerScheme,
                BearerFormat = "JWT",
                Description = "The product's access token (HS256, type=access); also accepted as the token query parameter.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }];
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary><c>GET /openapi/v1.json</c>, open like the probes: it describes the API, it holds no data.</summary>
    public static IEndpointRouteBuilder MapApiDocument(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().AllowAnonymous();
        return app;
    }
}
