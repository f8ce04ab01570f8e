using LogsMigration.Docker.Events;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Listing;

/// <summary>The frames of <c>/ws/hosts/{id}/events</c> besides the log routes' shared ones (heartbeat, error, disconnected).</summary>
internal static class HostEventsFrames
{
    /// <summary><paramref name="since"/>: the newest event time the feed knew; list after it and nothing is missed.</summary>
    public static byte[] Connected(string hostId, DateTimeOffset since, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("connected", $"Connected to the events of host {hostId}.", now, w =>
        {
            w.WriteString("host_id"u8, hostId);
            w.WriteString("since"u8, LogTimestamp.FromDateTimeOffset(since).ToRfc3339());
        });

    /// <summary>
    /// <c>{"type":"notice","kind":"upstream_retrying"|"upstream_resumed","message","timestamp"}</c>: a frame of its own,
    /// not a log-like line, as this route has no old view to keep streaming and its clients read structured frames.
    /// </summary>
    public static byte[] Notice(HostFeedNotice notice, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("notice", notice.Message, now, w =>
            w.WriteString("kind"u8, notice.Kind == HostFeedNoticeKind.UpstreamRetrying ? "upstream_retrying" : "upstream_resumed"));

    /// <summary>The Docker events stream was reopened and could not be shown to continue the old one: an unknown number missed.</summary>
    public static byte[] ReopenGap(string message, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("gap", message, now, w =>
        {
            w.WriteNumber("missed"u8, -1);
            w.WriteString("reason"u8, "upstream_reopened");
        });

    /// <summary><c>{"type":"event","kind","action","id","name","state"?,"timestamp"}</c>; the timestamp is Docker's, of the event.</summary>
    public static byte[] Event(HostEvent e) =>
        LogFrameEncoder.EncodeControl("event", null, e.Timestamp, w =>
        {
            w.WriteString("kind"u8, e.Kind);
            w.WriteString("action"u8, e.Action);
            w.WriteString("id"u8, e.Id);
            w.WriteString("name"u8, e.Name);
            if (e.State is not null)
                w.WriteString("state"u8, e.State);
        });

    /// <summary>This client fell behind and lost its <paramref name="missed"/> oldest queued events.</summary>
    public static byte[] Gap(long missed, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("gap", $"{missed} events were skipped: this connection fell behind.", now, w =>
        {
            w.WriteNumber("missed"u8, missed);
            w.WriteString("reason"u8, "slow_client");
        });
}
