namespace LogsMigration.Docker.Events;

/// <summary>What a <see cref="HostEventSubscription"/> queues, in the host's order: an event or a notice about the feed itself.</summary>
public abstract record HostFeedItem;

/// <summary>What happened to the host's shared Docker events stream (not an event of the host).</summary>
public enum HostFeedNoticeKind
{
    /// <summary>The stream broke; the hub reopens it with the Pipeline's retry backoff.</summary>
    UpstreamRetrying,

    /// <summary>The reopened stream gives events again.</summary>
    UpstreamResumed,

    /// <summary>The reopened stream could not be shown to continue where the old one stopped: events may be missing here.</summary>
    Gap,
}

/// <summary>A notice in the feed's order: it comes after every event read before it.</summary>
public sealed record HostFeedNotice(HostFeedNoticeKind Kind, string Message) : HostFeedItem;
