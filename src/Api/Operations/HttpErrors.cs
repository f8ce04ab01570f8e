using LogsMigration.Api.Streaming;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Api.Operations;

/// <summary>The body of every HTTP error: <c>{"error":{"code":"…","message":"…"}}</c>, with the protocol's codes.</summary>
public sealed record HttpErrorBody(HttpError Error);

/// <param name="Code">One of <see cref="ErrorCodes"/> (docs/protocol.md, "Error codes").</param>
public sealed record HttpError(string Code, string Message);

public static class HttpErrors
{
    public static IResult Result(string code, string message, int statusCode) =>
        Results.Json(new HttpErrorBody(new HttpError(code, message)), statusCode: statusCode);

    /// <summary>A source's failure as HTTP: 404 not_found, 422 not_supported, 503 upstream_unavailable, 501, else 502 upstream_failed.</summary>
    public static IResult For(LogSourceException ex) => ex.Kind switch
    {
        LogSourceErrorKind.NotFound => Result(ErrorCodes.NotFound, ex.Message, StatusCodes.Status404NotFound),
        LogSourceErrorKind.NotSupported => Result(ErrorCodes.NotSupported, ex.Message, StatusCodes.Status422UnprocessableEntity),
        LogSourceErrorKind.Unavailable => Result(ErrorCodes.UpstreamUnavailable, ex.Message, StatusCodes.Status503ServiceUnavailable),
        LogSourceErrorKind.NotImplemented => Result(ErrorCodes.NotImplemented, ex.Message, StatusCodes.Status501NotImplemented),
        _ => Result(ErrorCodes.UpstreamFailed, ex.Message, StatusCodes.Status502BadGateway),
    };
}
