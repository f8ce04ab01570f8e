using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Options;

namespace LogsMigration.Legacy;

/// <summary>
/// The old product's behaviour, kept for roll-back: every connection opens its own upstream read with its own
/// <c>tail</c> and <c>follow</c>, and nothing is shared between connections. It reads through the same sources
/// (demultiplexing, TTY, long lines, timestamps) as the unified path, so the two paths differ only in pooling.
/// Unlike the old product, a client that stops reading is closed after the stall timeout and its upstream
/// cancelled, and a fault ends only that connection.
/// </summary>
public sealed class LegacyLogStreams(LogSourceRegistry sources, IOptions<PipelineOptions> options, TimeProvider time, LogMetrics metrics)
{
    /// <summary>Opens a private upstream for one connection. Its entries are unsequenced (the old product had no sequence numbers).</summary>
    public LogSubscription Open(StreamKey key, int tail, bool follow) =>
        DirectRead.Open(sources.Get(key.SourceType), key, new SourceStart(tail, null, follow), sequenced: false, options.Value, time, metrics);
}
