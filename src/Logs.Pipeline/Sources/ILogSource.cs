using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Reads one kind of log (container, service, host, daemon, stack) from a Docker host.
/// A source knows nothing about clients: the pipeline asks it for one upstream per stream key.
/// </summary>
public interface ILogSource
{
    LogSourceType SourceType { get; }

    /// <summary>
    /// The metadata key that <c>tail</c> counts within, when the source's own tail does (Docker's service logs count
    /// <c>tail</c> per task); null when <c>tail</c> counts the whole stream. The replay buffer serves history the same
    /// way, so both paths give the same lines.
    /// </summary>
    string? TailPartitionKey => null;

    /// <summary>
    /// What a client's <c>connected</c> frame says about the resolved resource beyond the fields every source has (a
    /// stack's <c>stack_kind</c>): snake_case names and string values, written as they are by a handler that knows
    /// nothing of the source. None by default.
    /// </summary>
    IEnumerable<KeyValuePair<string, string>> ConnectedFields(StreamKey key) => [];

    /// <summary>
    /// Turns what the user typed (an id, a short id, a name) into the canonical id used in the stream key,
    /// so that two clients naming one container differently share one stream.
    /// Throws <see cref="LogSourceException"/> with <see cref="LogSourceErrorKind.NotFound"/> and the like.
    /// </summary>
    ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken);

    /// <summary>
    /// Opens one upstream read. Lines come in the order the source gives them; the enumeration ends
    /// when the source ends (history read to the end, or the resource stopped) and throws
    /// <see cref="LogSourceException"/> on a fault.
    /// </summary>
    IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, CancellationToken cancellationToken);
}
