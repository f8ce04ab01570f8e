using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.Reading;

/// <summary>
/// One whole log line as Docker stored it: partial messages joined, the timestamp prefix and the
/// <c>--details</c> attributes taken off the text. Or, with <see cref="IsDaemonError"/>, not a line at all but the
/// daemon's own error inside the stream, in <see cref="Text"/>, at the place in the stream where it came.
/// </summary>
/// <param name="Details">The raw attribute list (<c>k=v,k=v</c>) of a <c>details=1</c> read; null otherwise.</param>
internal readonly record struct DockerLogLine(OutputStream Stream, LogTimestamp Timestamp, bool TimestampIsReceiveTime, string Text, string? Details)
{
    /// <summary>The daemon reported an error in the stream (Docker's system-error channel); <see cref="Text"/> is its message.</summary>
    public bool IsDaemonError { get; init; }

    public SourceRecord ToRecord(IReadOnlyDictionary<string, string>? metadata) =>
        new(Timestamp, TimestampIsReceiveTime, Stream, Text, LevelDetector.Detect(Text), metadata);
}
