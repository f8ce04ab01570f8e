namespace LogsMigration.Api.Streaming;

/// <summary>
/// WebSocket close codes. 1000, 1001, 1008 and 1011 are the standard ones the old product used; the 4xxx codes are
/// ours (the range RFC 6455 leaves to applications) and each has a row in docs/protocol.md.
/// </summary>
public static class CloseCodes
{
    /// <summary>The stream ended: history sent (follow=false) or the source stopped.</summary>
    public const int Normal = 1000;

    /// <summary>The server is shutting down; reconnect later.</summary>
    public const int GoingAway = 1001;

    /// <summary>
    /// Drained after a rollout change: reconnect now (the next connection lands on the new path). RFC 6455's
    /// "Service Restart", which WebSocket clients already treat as "reconnect".
    /// </summary>
    public const int ServiceRestart = 1012;

    /// <summary>Authentication or permission failure (bad, expired or refresh token, role too low, origin refused).</summary>
    public const int PolicyViolation = 1008;

    /// <summary>A server or upstream fault; an <c>error</c> frame says which.</summary>
    public const int InternalError = 1011;

    /// <summary>A query parameter or path id is malformed or out of range.</summary>
    public const int BadRequest = 4400;

    /// <summary>The host, container, service or stack does not exist.</summary>
    public const int NotFound = 4404;

    /// <summary>The client took no lines for the stall timeout and was disconnected.</summary>
    public const int SlowConsumer = 4408;

    /// <summary>The request cannot be served by that host (service logs on a host that is not a Swarm manager).</summary>
    public const int NotSupported = 4422;

    /// <summary>The server holds its maximum number of sessions; retry later.</summary>
    public const int TooManyClients = 4429;

    /// <summary>This kind of log is not available yet on this server.</summary>
    public const int NotImplemented = 4501;

    /// <summary>The Docker host does not answer.</summary>
    public const int Unavailable = 4503;
}
