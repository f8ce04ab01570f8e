using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Streaming;

/// <summary>The per-session frames of the contract (everything but shared <c>log</c> lines, which come pre-encoded).</summary>
internal static class SessionFrames
{
    /// <param name="fields">What the source adds about the resource (<see cref="LogsMigration.Pipeline.Sources.ILogSource.ConnectedFields"/>).</param>
    public static byte[] Connected(StreamKey key, LogPath path, string message, DateTimeOffset now, string? instance = null,
        IEnumerable<KeyValuePair<string, string>>? fields = null) =>
        LogFrameEncoder.EncodeControl("connected", message, now, w =>
        {
            w.WriteString("source_type"u8, key.SourceType.ToWire());
            w.WriteString("source_id"u8, key.ResourceId);
            w.WriteString("host_id"u8, key.HostId);
            w.WriteString("path"u8, path == LogPath.Unified ? "unified" : "legacy");
            foreach (var (name, value) in fields ?? [])
                w.WriteString(name, value);
            if (instance is not null)
                w.WriteString("instance"u8, instance);
        });

    /// <summary>
    /// A transient notice (the upstream is retrying, or answers again). Like a gap marker it is a <c>log</c> frame at
    /// level warning, so the old views show it as a line and keep streaming: an <c>error</c> frame would leave them in
    /// their error state until a new socket opens, although the session goes on. New clients read <c>notice.kind</c>.
    /// </summary>
    public static byte[] Notice(StreamKey key, StreamNoticeKind kind, string message, DateTimeOffset now)
    {
        var code = kind == StreamNoticeKind.UpstreamRetrying ? "upstream_retrying" : "upstream_resumed";
        return ServerLine(key, "[logs] " + message, now, w =>
        {
            w.WriteStartObject("notice"u8);
            w.WriteString("kind"u8, code);
            w.WriteEndObject();
            w.WriteStartObject("metadata"u8);
            w.WriteString("notice_kind"u8, code);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// A line the server itself says in a stream (a notice, a gap marker): a <c>log</c> frame at level warning that the
    /// old views show as text, with the stream's ids and the frame's own structured <paramref name="fields"/>.
    /// </summary>
    private static byte[] ServerLine(StreamKey key, string text, DateTimeOffset now, Action<System.Text.Json.Utf8JsonWriter> fields) =>
        LogFrameEncoder.EncodeControl("log", text, now, w =>
        {
            w.WriteString("data"u8, text);
            w.WriteString("level"u8, "warning"u8);
            w.WriteString("source_type"u8, key.SourceType.ToWire());
            w.WriteString("source_id"u8, key.ResourceId);
            w.WriteString("host_id"u8, key.HostId);
            fields(w);
        });

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
    /// <param name="countsAllLines">The client reads through a filter: <c>missed</c> counts every line of the stream it missed, matching or not (<c>gap.counts_all_lines</c>).</param>
    public static byte[] Gap(StreamKey key, long missed, GapReason reason, DateTimeOffset now, string? detail = null, bool countsAllLines = false)
    {
        var (reasonCode, text) = reason switch
        {
            GapReason.SourceIncomplete => ("source_incomplete", $"[logs] Lines may be missing here: {detail ?? "the log source could not give every line."}"),
            GapReason.SlowSubscriber => ("slow_client", $"[logs] {missed} lines were skipped: this connection fell behind the stream."),
            GapReason.NotRetained when missed < 0 => ("not_retained", "[logs] Some earlier lines are no longer held by the server and were skipped."),
            GapReason.NotRetained => ("not_retained", $"[logs] {missed} earlier lines are no longer held by the server and were skipped."),
            _ => ("stream_restarted", "[logs] The log stream was reopened since this client last saw it; some lines may be missing."),
        };
        return ServerLine(key, text, now, w =>
        {
            w.WriteStartObject("gap"u8);
            w.WriteNumber("missed"u8, missed);
            w.WriteString("reason"u8, reasonCode);
            if (countsAllLines)
                w.WriteBoolean("counts_all_lines"u8, true);
            w.WriteEndObject();
            w.WriteStartObject("metadata"u8);
            w.WriteString("gap_missed"u8, missed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("gap_reason"u8, reasonCode);
            w.WriteEndObject();
        });
    }
}
