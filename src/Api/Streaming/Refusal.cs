using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Api.Streaming;

/// <summary>How a session ends badly: the <c>error</c> frame's code and message (none when null), and the close code.</summary>
public sealed record Refusal(string? Code, string Message, int CloseCode, string? Parameter = null)
{
    /// <summary>A drain: a <c>disconnected</c> frame with <c>reconnect: true</c>, then 1012, so the client reconnects onto the new path.</summary>
    public bool Reconnects { get; private init; }

    public static Refusal Reconnect(string message) => new(null, message, CloseCodes.ServiceRestart) { Reconnects = true };

    /// <summary>The server is stopping (a rolling deploy): reconnect now, to another instance or to the next one.</summary>
    public static Refusal Restarting { get; } = Reconnect("The server is restarting; reconnect.");

    public static Refusal ShuttingDown { get; } = new(ErrorCodes.ShuttingDown, "The server is shutting down; reconnect later.", CloseCodes.GoingAway);

    public static Refusal Internal { get; } = new(ErrorCodes.InternalError, "The server failed to serve this stream.", CloseCodes.InternalError);

    /// <summary>The one mapping from a source's failure to the protocol's codes.</summary>
    public static Refusal For(LogSourceException ex) => ex.Kind switch
    {
        LogSourceErrorKind.NotFound => new(ErrorCodes.NotFound, ex.Message, CloseCodes.NotFound),
        LogSourceErrorKind.NotSupported => new(ErrorCodes.NotSupported, ex.Message, CloseCodes.NotSupported),
        LogSourceErrorKind.Unavailable => new(ErrorCodes.UpstreamUnavailable, ex.Message, CloseCodes.Unavailable),
        LogSourceErrorKind.NotImplemented => new(ErrorCodes.NotImplemented, ex.Message, CloseCodes.NotImplemented),
        LogSourceErrorKind.NotAvailable => new(ErrorCodes.NotAvailable, ex.Message, CloseCodes.NotFound),
        _ => new(ErrorCodes.UpstreamFailed, ex.Message, CloseCodes.InternalError),
    };
}
