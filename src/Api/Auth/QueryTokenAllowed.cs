namespace LogsMigration.Api.Auth;

/// <summary>
/// Endpoint metadata: the endpoint reads its access token from the <c>token</c> query parameter too, not only from
/// <c>Authorization: Bearer</c>. A token in a URL ends up in proxy logs, browser history and <c>Referer</c> headers, so
/// only the routes that need it take one: the WebSocket routes (a browser cannot give them headers, see
/// <see cref="InBandAuthorization"/>) and the HTTP endpoints that opt in with
/// <see cref="QueryTokenEndpointExtensions.AllowQueryToken{TBuilder}"/> (a download opened as a plain link).
/// </summary>
public sealed class QueryTokenAllowed
{
    public static QueryTokenAllowed Instance { get; } = new();

    private QueryTokenAllowed()
    {
    }

    /// <summary>Whether the endpoint takes a token from the query: it opted in, or it is a WebSocket route.</summary>
    public static bool For(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<QueryTokenAllowed>() is not null || endpoint?.Metadata.GetMetadata<InBandAuthorization>() is not null;
}

public static class QueryTokenEndpointExtensions
{
    /// <summary>Lets the endpoint take its access token from the <c>token</c> query parameter (see <see cref="QueryTokenAllowed"/>).</summary>
    public static TBuilder AllowQueryToken<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(QueryTokenAllowed.Instance);
}
