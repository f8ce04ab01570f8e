namespace LogsMigration.Api.Streaming;

/// <summary>The machine-readable <c>code</c> of every <c>error</c> frame; docs/protocol.md lists each with its close code.</summary>
public static class ErrorCodes
{
    public const string Unauthorized = "unauthorized";
    public const string TokenInvalid = "token_invalid";
    public const string TokenExpired = "token_expired";
    public const string TokenNotAccess = "token_not_access";
    public const string Forbidden = "forbidden";
    public const string OriginNotAllowed = "origin_not_allowed";
    public const string InvalidParameter = "invalid_parameter";
    public const string UnknownHost = "unknown_host";
    public const string NotFound = "not_found";
    public const string NotSupported = "not_supported";
    public const string NotImplemented = "not_implemented";
    public const string NotAvailable = "not_available";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UpstreamFailed = "upstream_failed";
    public const string SlowConsumer = "slow_consumer";
    public const string TooManyClients = "too_many_clients";
    public const string TooManyDownloads = "too_many_downloads";
    public const string ShuttingDown = "shutting_down";
    public const string InternalError = "internal_error";
}
