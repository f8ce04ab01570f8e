namespace LogsMigration.Pipeline.Model;

public enum StreamNoticeKind
{
    /// <summary>The upstream failed with a transient fault; the pipeline is retrying and the subscriber stays connected.</summary>
    UpstreamRetrying,

    /// <summary>The upstream answers again; lines continue from where they stopped.</summary>
    UpstreamResumed,
}

/// <summary>A change of upstream state told to every subscriber of a stream. Not sequenced: it is not a line.</summary>
public sealed class StreamNotice(StreamNoticeKind kind, string message) : StreamItem
{
    public StreamNoticeKind Kind { get; } = kind;
    public string Message { get; } = message;
}
