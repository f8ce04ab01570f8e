using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// Where an upstream read begins: the last <see cref="Tail"/> lines (null: all of them), or every line
/// at or after <see cref="Since"/> (inclusive, as Docker's <c>since</c> is). <see cref="Follow"/> keeps
/// reading live lines after the history. <see cref="Until"/> ends the history at a timestamp (inclusive, as Docker's
/// <c>until</c> is): a source whose API has no <c>until</c> drops the lines stamped after it.
/// </summary>
public sealed record SourceStart(int? Tail, LogTimestamp? Since, bool Follow)
{
    /// <summary>
    /// Called by the source once the upstream has answered (before any line), so the pipeline can tell
    /// subscribers that a stream is back even when no new line comes.
    /// </summary>
    public Action? OnConnected { get; init; }

    /// <summary>The newest timestamp wanted (inclusive); null for no bound. Only meaningful without <see cref="Follow"/>.</summary>
    public LogTimestamp? Until { get; init; }

    /// <summary>Every line stamped from <paramref name="since"/> to <paramref name="until"/> (both inclusive, either open), history only.</summary>
    public static SourceStart Range(LogTimestamp? since, LogTimestamp? until) => new(null, since, Follow: false) { Until = until };

    /// <summary>True when <paramref name="timestamp"/> is after <see cref="Until"/>: a source without <c>until</c> in its API drops the line.</summary>
    public bool IsAfterUntil(LogTimestamp timestamp) => Until is { } until && timestamp > until;

    public static SourceStart History(int tail) => new(tail, null, Follow: false);
    public static SourceStart LiveFrom(LogTimestamp since) => new(null, since, Follow: true);
    public static SourceStart LiveAll() => new(null, null, Follow: true);
    public static SourceStart TailThenFollow(int tail) => new(tail, null, Follow: true);
}
