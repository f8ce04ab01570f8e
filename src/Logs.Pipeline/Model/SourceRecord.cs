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
    /// Null for a line. When set, the record is not a line of the resource but a marker that the source knows lines
    /// are missing here (a Swarm node that could not be reached), with the daemon's message as its value.
    /// </summary>
    public string? Incomplete { get; init; }

    /// <summary>A marker that lines are missing at <paramref name="at"/>, carrying the daemon's <paramref name="message"/>.</summary>
    public static SourceRecord IncompleteMarker(LogTimestamp at, string message) =>
        new(at, TimestampIsReceiveTime: true, OutputStream.System, message, LogSeverity.Warning) { Incomplete = message };
}
