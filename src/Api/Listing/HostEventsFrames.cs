using LogsMigration.Docker.Events;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Listing;

/// <summary>The frames of <c>/ws/hosts/{id}/events</c> besides the log routes' shared ones (heartbeat, error, disconnected).</summary>
internal static class HostEventsFrames
{
    public static byte[] Connected(string hostId, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("connected", $"Connected to the events of host {hostId}.", now, w => w.WriteString("host_id"u8, hostId));

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
