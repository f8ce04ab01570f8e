using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Positions;

namespace LogsMigration.Pipeline.Wire;

/// <summary>
/// Writes the JSON text frames of the frontend contract. Field names are the contract's; extra fields
/// (<c>seq</c>, <c>epoch</c>, <c>stream</c>, <c>host_id</c>, <c>code</c>, <c>missed</c>) are ignored by the old frontend.
/// </summary>
public static class LogFrameEncoder
{
    internal const int FormatCount = 2;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Log lines are shown as text, never as HTML: keep them readable on the wire.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>Encodes a <c>log</c> frame. <c>data</c> and <c>message</c> both carry the line, as the contract asks.</summary>
    public static byte[] EncodeLog(LogEntry entry, LogFrameFormat format)
    {
        var record = entry.Record;
        var timestamp = record.Timestamp.ToRfc3339();
        var text = format == LogFrameFormat.JsonTimestamped ? string.Concat(timestamp, " ", record.Text) : record.Text;
        return Write(writer =>
        {
            writer.WriteString("type"u8, "log"u8);
            writer.WriteString("data"u8, text);
            writer.WriteString("message"u8, text);
            writer.WriteString("timestamp"u8, timestamp);
            writer.WriteString("level"u8, record.Level.ToWire());
            writer.WriteString("source_type"u8, entry.Key.SourceType.ToWire());
            writer.WriteString("source_id"u8, entry.Key.ResourceId);
            writer.WriteString("host_id"u8, entry.Key.HostId);
            writer.WriteString("stream"u8, record.Stream.ToWire());
            if (entry.Sequence > 0)
            {
                writer.WriteNumber("seq"u8, entry.Sequence);
                writer.WriteString("epoch"u8, entry.Epoch);
            }
            if (entry.Position is { } position)
                writer.WriteString("cursor"u8, ResumeCursor.Encode(entry.Key, entry.Epoch, entry.Sequence, position));
            writer.WriteStartObject("metadata"u8);
            if (record.Metadata is not null)
            {
                foreach (var (name, value) in record.Metadata)
                    writer.WriteString(name, value);
            }
            if (record.TimestampIsReceiveTime)
                writer.WriteString("timestamp_source"u8, "received"u8);
            writer.WriteEndObject();
        });
    }

    /// <summary>Encodes a control frame (<c>connected</c>, <c>complete</c>, <c>disconnected</c>, <c>heartbeat</c>).</summary>
    public static byte[] EncodeControl(string type, string? message, DateTimeOffset now, Action<Utf8JsonWriter>? extra = null) =>
        Write(writer =>
        {
            writer.WriteString("type"u8, type);
            if (message is not null)
                writer.WriteString("message"u8, message);
            writer.WriteString("timestamp"u8, LogTimestamp.FromDateTimeOffset(now).ToRfc3339());
            extra?.Invoke(writer);
        });

    /// <summary>Encodes an <c>error</c> frame with a machine-readable <c>code</c> beside the human <c>message</c>.</summary>
    public static byte[] EncodeError(string code, string message, DateTimeOffset now, Action<Utf8JsonWriter>? extra = null) =>
        EncodeControl("error", message, now, writer =>
        {
            writer.WriteString("code"u8, code);
            extra?.Invoke(writer);
        });

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
