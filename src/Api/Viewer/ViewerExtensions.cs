using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace LogsMigration.Api.Viewer;

/// <summary>The log viewer page (web/) served at <c>/</c> from the built static files: no CDN, nothing fetched at run time.</summary>
public static class ViewerExtensions
{
    // The page loads only its own files and talks only to this origin (HTTP and WebSocket): a script injected
    // through a log line could not send the token in sessionStorage anywhere else. React sets style attributes.
    private const string ContentSecurityPolicy =
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static WebApplicationBuilder AddViewer(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ViewerOptions>().Bind(builder.Configuration.GetSection(ViewerOptions.SectionName)).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ViewerOptions>, ViewerOptions.Validator>());
        return builder;
    }

    /// <summary>
    /// <c>/</c> serves index.html, <c>/assets/*</c> the hashed bundles (cached for a year: a new build has new names);
    /// everything else falls through to the API's routes.
    /// </summary>
    public static WebApplication UseViewer(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ViewerOptions>>().Value;
        var root = ResolveRoot(options, app.Environment);
        if (root is null)
        {
            // Middleware, not an endpoint: the page (built or not) is open to everyone, and only endpoints carry
            // role policies (tests/Unit/Api/EndpointAuthorizationTests enumerates them).
            app.Use(async (context, next) =>
            {
                if (context.Request.Path == "/" && HttpMethods.IsGet(context.Request.Method))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    await context.Response.WriteAsJsonAsync(new { error = new { code = "viewer_not_built", message = "The viewer page is not built: run scripts/web.sh build (scripts/run.sh does)." } });
                    return;
                }
                await next(context);
            });
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                var path = context.Context.Request.Path;
                if (path.StartsWithSegments("/assets"))
                {
                    headers[HeaderNames.CacheControl] = "public, max-age=31536000, immutable";
                }
                else
                {
                    headers[HeaderNames.CacheControl] = "no-cache";
                    headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                    headers[HeaderNames.XContentTypeOptions] = "nosniff";
                    headers["Referrer-Policy"] = "no-referrer";
                }
            },
        });
        return app;
    }

    private static string? ResolveRoot(ViewerOptions options, IWebHostEnvironment environment)
    {
        if (!string.IsNullOrWhiteSpace(options.Root))
            return Path.GetFullPath(options.Root);
        string[] candidates = [Path.Combine(environment.ContentRootPath, "wwwroot"), Path.Combine(AppContext.BaseDirectory, "wwwroot")];
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "index.html")));
    }
}
