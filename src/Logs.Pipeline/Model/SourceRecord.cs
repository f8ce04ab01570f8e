namespace LogsMigration.Pipeline.Model;

/// <summary>
/// One line as a source read it, before the pipeline gives it a sequence number.
/// </summary>
/// <param name="Timestamp">When the source says the line was written.</param>
/// <param name="TimestampIsReceiveTime">True when the source gave no timestamp and the reader used its own clock; shown to clients in <c>metadata</c>.</param>
/// <param name="Stream">stdout, stderr or a system log.</param>
/// <param name="Text">The line without its trailing newline.</param>
/// <param name="Level">Guessed severity.</param>
/// <param name="Metadata">Replica identity, container name and the like. Sources share one instance between lines where they can.</param>
public sealed record SourceRecord(
    LogTimestamp Timestamp,
    bool TimestampIsReceiveTime,
    OutputStream Stream,
    string Text,
    LogSeverity Level,
    IReadOnlyDictionary<string, string>? Metadata = null);
