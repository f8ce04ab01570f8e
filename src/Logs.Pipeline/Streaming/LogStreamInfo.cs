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
    long HeadSequence);
