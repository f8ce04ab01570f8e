using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker;

/// <summary>
/// Tells a read that continues an earlier one from a first read. The pipeline's live read after the history and
/// every reopen after a fault start at the newest line seen (<see cref="SourceStart.Since"/>) or, when nothing was
/// seen yet, at everything (follow without a tail); a first read asks for a tail. A resource removed before a
/// continuing read opens has simply ended, as it would have had the stream stayed open: its read ends, and only a
/// first read reports NotFound.
/// </summary>
internal static class ContinuedRead
{
    public static bool Continues(this SourceStart start) => start.Since is not null || start is { Follow: true, Tail: null };
}
