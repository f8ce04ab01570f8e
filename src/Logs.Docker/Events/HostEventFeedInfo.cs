namespace LogsMigration.Docker.Events;

/// <summary>
/// A host's shared events stream as <c>/admin/streams</c> shows it: its clients now, and how many times a Docker
/// events stream was opened for the host since the service started (one per life of the feed, however many clients).
/// </summary>
public sealed record HostEventFeedInfo(string HostId, bool Open, int Subscribers, long UpstreamOpens);
