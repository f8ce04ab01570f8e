namespace LogsMigration.Docker.Events;

/// <summary>One host's stream of container and service events: the upstream that <see cref="HostEventHub"/> shares.</summary>
public interface IHostEventSource
{
    /// <summary>
    /// Reads the host's events from <paramref name="since"/> on, handing each to <paramref name="onEvent"/> in order, until
    /// cancelled. Failures are <see cref="Pipeline.Sources.LogSourceException"/>s; the daemon ending the stream is one
    /// too (Unavailable), as no events stream ends on its own.
    /// </summary>
    Task WatchAsync(string hostId, DateTimeOffset since, Action<HostEvent> onEvent, CancellationToken cancellationToken);
}
