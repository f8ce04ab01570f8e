using System.Diagnostics;
using System.Diagnostics.Metrics;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Observability;

/// <summary>
/// Every instrument of the service, created once from <see cref="IMeterFactory"/> (so parallel test hosts do not share
/// them). Each is tagged with <c>path</c> (<c>unified</c> or <c>legacy</c>) and <c>source</c> (the kind of log), and the
/// upstream ones with <c>host</c>: all closed sets (configured host ids, never a container or user id), so dashboards
/// can put the two paths side by side during a rollout.
/// </summary>
public sealed class LogMetrics
{
    public const string MeterName = "LogsMigration";
    public const string Unified = "unified";
    public const string Legacy = "legacy";

    /// <summary>The traces of session lifecycles (connect, authenticate, subscribe, close).</summary>
    public static readonly ActivitySource Activities = new(MeterName);

    // Seconds, from a tenth of a millisecond to half a minute: the exporter's default bounds are meant for milliseconds and
    // would put every latency in its lowest bucket.
    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    public LogMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        Sessions = meter.CreateUpDownCounter<long>("logs.sessions", "{session}", "Open WebSocket log sessions.");
        Upstreams = meter.CreateUpDownCounter<long>("logs.upstreams", "{stream}", "Open upstream log streams to Docker daemons.");
        EntriesRead = meter.CreateCounter<long>("logs.entries.read", "{entry}", "Lines read from upstream streams.");
        EntriesRepeated = meter.CreateCounter<long>("logs.entries.repeated", "{entry}", "Lines an upstream read gave again (a reopened read, a json-file rotation) and that were dropped by identity.");
        FramesSent = meter.CreateCounter<long>("logs.frames.sent", "{frame}", "WebSocket frames sent to clients, of every type.");
        EntriesSent = meter.CreateCounter<long>("logs.entries.sent", "{entry}", "Log lines sent to clients (one per client that received it).");
        BytesSent = meter.CreateCounter<long>("logs.bytes.sent", "By", "Bytes of frames sent to clients.");
        EntriesDropped = meter.CreateCounter<long>("logs.entries.dropped", "{entry}", "Lines a slow client missed because its queue overflowed.");
        GapsSent = meter.CreateCounter<long>("logs.gaps.sent", "{marker}", "Gap markers sent to clients.");
        ClientsStalled = meter.CreateCounter<long>("logs.clients.stalled", "{client}", "Clients closed because they took no lines for the stall timeout.");
        HistoryRequests = meter.CreateCounter<long>("logs.history.requests", "{request}", "History requests, by where they were served from (origin: replay or upstream).");
        FirstLine = meter.CreateHistogram<double>("logs.first_line.duration", "s", "Time from accepting a connection to sending its first log line.", tags: null, advice: SecondsBuckets);
        SubscribedFirstLine = meter.CreateHistogram<double>("logs.subscribed_first_line.duration", "s", "Time from asking the pipeline for a subscription to sending its first log line, by where the history came from (origin: replay or upstream).", tags: null, advice: SecondsBuckets);
        DeliveryLatency = meter.CreateHistogram<double>("logs.delivery.latency", "s", "Time from a live line's own timestamp to its write on the socket, sampled once per write batch (its newest line).", tags: null, advice: SecondsBuckets);
        SendDuration = meter.CreateHistogram<double>("logs.send.duration", "s", "Time to write one batch of frames (what was queued for a client) to its socket.", tags: null, advice: SecondsBuckets);
        UpstreamErrors = meter.CreateCounter<long>("logs.upstream.errors", "{error}", "Upstream failures, by kind.");
        UpstreamReconnects = meter.CreateCounter<long>("logs.upstream.reconnects", "{attempt}", "Attempts to reopen an upstream after a transient failure.");
        Refusals = meter.CreateCounter<long>("logs.refusals", "{session}", "Sessions refused or ended with an error frame, by error code.");
    }

    public UpDownCounter<long> Sessions { get; }
    public UpDownCounter<long> Upstreams { get; }
    public Counter<long> EntriesRead { get; }
    public Counter<long> EntriesRepeated { get; }
    public Counter<long> FramesSent { get; }
    public Counter<long> EntriesSent { get; }
    public Counter<long> BytesSent { get; }
    public Counter<long> EntriesDropped { get; }
    public Counter<long> GapsSent { get; }
    public Counter<long> ClientsStalled { get; }
    public Counter<long> HistoryRequests { get; }
    public Histogram<double> FirstLine { get; }
    public Histogram<double> SubscribedFirstLine { get; }
    public Histogram<double> DeliveryLatency { get; }
    public Histogram<double> SendDuration { get; }
    public Counter<long> UpstreamErrors { get; }
    public Counter<long> UpstreamReconnects { get; }
    public Counter<long> Refusals { get; }

    public static TagList Tags(string path, LogSourceType source) => new() { { "path", path }, { "source", source.ToWire() } };

    public static TagList Tags(string path, StreamKey key) => new() { { "path", path }, { "source", key.SourceType.ToWire() }, { "host", key.HostId } };
}
