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
    IReadOnlyDictionary<string, string>? Metadata = null)
{
    /// <summary>
    /// Null for a line. When set the record is not a line but a marker that the source could not give every line
    /// here (for example the daemon's "incomplete log stream" warning); the value is the daemon's message.
    /// </summary>
    public string? Incomplete { get; init; }

    /// <summary>A marker that lines are missing at this point of the stream (see <see cref="Incomplete"/>).</summary>
    public static SourceRecord IncompleteMarker(LogTimestamp at, string message) =>
        new(at, TimestampIsReceiveTime: true, OutputStream.System, message, LogSeverity.Warning) { Incomplete = message };
}
