namespace LogsMigration.Pipeline.Sources;

/// <summary>Why a source failed; each kind maps to one error code of the protocol.</summary>
public enum LogSourceErrorKind
{
    /// <summary>The host, container, service or stack does not exist.</summary>
    NotFound,

    /// <summary>The request cannot be served by that host (a service on a host that is not a Swarm manager).</summary>
    NotSupported,

    /// <summary>The host does not answer or broke the connection; worth retrying.</summary>
    Unavailable,

    /// <summary>The source is not built yet for this kind of log.</summary>
    NotImplemented,

    /// <summary>
    /// The log exists as a kind but not on that host as configured (no journal or log file found, no journalctl): the
    /// message names what was looked for and which setting to set. Not retried.
    /// </summary>
    NotAvailable,

    /// <summary>Anything else the host answered with.</summary>
    Failed,
}

public sealed class LogSourceException(LogSourceErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public LogSourceErrorKind Kind { get; } = kind;

    /// <summary>Transient faults are retried with backoff while subscribers stay connected.</summary>
    public bool IsTransient => Kind == LogSourceErrorKind.Unavailable;
}
