using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Viewer;

/// <summary>Where the viewer page's built files are (web/, built by scripts/web.sh into src/Api/wwwroot).</summary>
public sealed class ViewerOptions
{
    public const string SectionName = "Viewer";

    /// <summary>
    /// The folder holding the built page (its index.html). Empty: the content root's wwwroot, else wwwroot beside
    /// the service's assembly; when neither holds a page, <c>/</c> answers 404 <c>viewer_not_built</c>.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>An explicitly configured folder must hold a built page: a typo should stop the start, not give 404s.</summary>
    public sealed class Validator : IValidateOptions<ViewerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ViewerOptions options) =>
            string.IsNullOrWhiteSpace(options.Root) || File.Exists(Path.Combine(options.Root, "index.html"))
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"Viewer:Root '{options.Root}' holds no index.html (build it with scripts/web.sh build).");
    }
}
