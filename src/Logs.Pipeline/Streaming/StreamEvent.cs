using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Query;

namespace LogsMigration.Pipeline.Streaming;

public enum StreamEventKind
{
    Entry,
    Gap,
    Notice,
}

public enum GapReason
{
    /// <summary>The subscriber's queue overflowed; its oldest queued lines were dropped.</summary>
    SlowSubscriber,

    /// <summary>The requested history or resume point is older than what the replay buffer still holds.</summary>
    NotRetained,

    /// <summary>The stream was opened anew since the resume point was taken; how much was missed is unknown.</summary>
    StreamRestarted,

    /// <summary>
    /// The source said it could not give every line here (a node of the swarm could not be reached, a rotated log
    /// file could not be read to the end); the count is unknown. The event's <see cref="StreamEvent.Entry"/> is the
    /// marker, whose text is the source's own message.
    /// </summary>
    SourceIncomplete,
}

/// <summary>
/// What a subscriber reads: a line, a gap marker saying how many lines it missed and why (never a silent loss),
/// or a notice about the upstream.
/// </summary>
public readonly record struct StreamEvent(StreamEventKind Kind, LogEntry? Entry, long Missed, GapReason GapReason, StreamNotice? Notice)
{
    /// <summary>Where the client's <c>filter</c> matched the line (only for a subscription with a filter pattern).</summary>
    public MatchSpan[]? Matches { get; init; }

    public static StreamEvent ForEntry(LogEntry entry) => new(StreamEventKind.Entry, entry, 0, default, null);

    /// <summary>A gap; <paramref name="missed"/> is -1 when the count is unknown.</summary>
    public static StreamEvent ForGap(long missed, GapReason reason) => new(StreamEventKind.Gap, null, missed, reason, null);

    /// <summary>A line, or the gap a source's marker stands for.</summary>
    public static StreamEvent ForEntryOrMarker(LogEntry entry) =>
        entry.IsIncompleteMarker ? new(StreamEventKind.Gap, entry, -1, GapReason.SourceIncomplete, null) : ForEntry(entry);

    public static StreamEvent ForNotice(StreamNotice notice) => new(StreamEventKind.Notice, null, 0, default, notice);
}
