using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Where an upstream read begins: the last <see cref="Tail"/> lines (null: all of them), or every line
/// at or after <see cref="Since"/> (inclusive, as Docker's <c>since</c> is). <see cref="Follow"/> keeps
/// reading live lines after the history.
/// </summary>
public sealed record SourceStart(int? Tail, LogTimestamp? Since, bool Follow)
{
    /// <summary>
    /// Called by the source once the upstream has answered (before any line), so the pipeline can tell
    /// subscribers that a stream is back even when no new line comes.
    /// </summary>
    public Action? OnConnected { get; init; }

    public static SourceStart History(int tail) => new(tail, null, Follow: false);
    public static SourceStart LiveFrom(LogTimestamp since) => new(null, since, Follow: true);
    public static SourceStart LiveAll() => new(null, null, Follow: true);
    public static SourceStart TailThenFollow(int tail) => new(tail, null, Follow: true);
}
