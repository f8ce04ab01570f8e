using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>One live stream as the admin listing shows it.</summary>
public sealed record LogStreamInfo(
    StreamKey Key,
    string Epoch,
    UpstreamState State,
    int Subscribers,
    int Holders,
    int ReplayEntries,
    long ReplayBytes,
    long HeadSequence)
{
    /// <summary>Lines waiting in this stream's subscriber queues, all subscribers together.</summary>
    public long QueuedEntries { get; init; }

    /// <summary>Bytes of those lines (<c>LogEntry.ApproximateSize</c>, cached frames included).</summary>
    public long QueuedBytes { get; init; }
}
