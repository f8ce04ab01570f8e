using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Streaming;

/// <summary>The per-session frames of the contract (everything but shared <c>log</c> lines, which come pre-encoded).</summary>
internal static class SessionFrames
{
    public static byte[] Connected(StreamKey key, LogPath path, string message, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("connected", message, now, w =>
        {
            w.WriteString("source_type"u8, key.SourceType.ToWire());
            w.WriteString("source_id"u8, key.ResourceId);
            w.WriteString("host_id"u8, key.HostId);
            w.WriteString("path"u8, path == LogPath.Unified ? "unified" : "legacy");
        });

    public static byte[] Resumed(string message, DateTimeOffset now) =>
        LogFrameEncoder.EncodeControl("connected", message, now, w => w.WriteBoolean("resumed"u8, true));

    public static byte[] Retrying(string message, DateTimeOffset now) =>
        LogFrameEncoder.EncodeError(ErrorCodes.UpstreamRetrying, message, now, w => w.WriteBoolean("retrying"u8, true));

    public static byte[] Heartbeat(DateTimeOffset now) => LogFrameEncoder.EncodeControl("heartbeat", null, now);

    public static byte[] Complete(string message, DateTimeOffset now) => LogFrameEncoder.EncodeControl("complete", message, now);

    public static byte[] Disconnected(string message, DateTimeOffset now, bool reconnect = false) =>
        LogFrameEncoder.EncodeControl("disconnected", message, now, reconnect ? w => w.WriteBoolean("reconnect"u8, true) : null);

    public static byte[] Error(string code, string message, DateTimeOffset now, string? parameter = null) =>
        LogFrameEncoder.EncodeError(code, message, now, parameter is null ? null : w => w.WriteString("parameter"u8, parameter));

    /// <summary>
    /// A gap marker. The old views only show <c>log</c> frames' text, so the gap travels as a <c>log</c> frame at level
    /// warning, readable by a person, with the count in <c>gap</c> and in <c>metadata</c> for new clients.
    /// </summary>
    public static byte[] Gap(StreamKey key, long missed, GapReason reason, DateTimeOffset now, string? detail = null)
    {
        var (reasonCode, text) = reason switch
        {
            GapReason.SourceIncomplete => ("source_incomplete", $"[logs] Lines may be missing here: {detail ?? "the log source could not give every line."}"),
            GapReason.SlowSubscriber => ("slow_client", $"[logs] {missed} lines were skipped: this connection fell behind the stream."),
            GapReason.NotRetained when missed < 0 => ("not_retained", "[logs] Some earlier lines are no longer held by the server and were skipped."),
            GapReason.NotRetained => ("not_retained", $"[logs] {missed} earlier lines are no longer held by the server and were skipped."),
            _ => ("stream_restarted", "[logs] The log stream was reopened since this client last saw it; some lines may be missing."),
        };
        return LogFrameEncoder.EncodeControl("log", text, now, w =>
        {
            w.WriteString("data"u8, text);
            w.WriteString("level"u8, "warning"u8);
            w.WriteString("source_type"u8, key.SourceType.ToWire());
            w.WriteString("source_id"u8, key.ResourceId);
            w.WriteString("host_id"u8, key.HostId);
            w.WriteStartObject("gap"u8);
            w.WriteNumber("missed"u8, missed);
            w.WriteString("reason"u8, reasonCode);
            w.WriteEndObject();
            w.WriteStartObject("metadata"u8);
            w.WriteString("gap_missed"u8, missed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("gap_reason"u8, reasonCode);
            w.WriteEndObject();
        });
    }
}
