using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline;

/// <summary>Every limit of the shared pipeline. Bound from the <c>Pipeline</c> configuration section and validated at start-up.</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "Pipeline";

    /// <summary>Lines kept per stream for late joiners and resumes; also the history read when a stream opens. Default 1,000.</summary>
    public int ReplayEntries { get; set; } = 1000;

    /// <summary>Upper bound on the replay buffer's memory per stream, in bytes; the oldest lines go first. Default 8 MiB.</summary>
    public long ReplayBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Lines queued per subscriber before its oldest queued chunks are dropped (and a gap marker with the count sent).
    /// Default 2,048.
    /// </summary>
    public int SubscriberQueueEntries { get; set; } = 2048;

    /// <summary>
    /// Lines read from upstream and not yet sequenced or fanned out, counted in chunks of up to 256 (this / 256 chunks,
    /// at least 2); beyond it the upstream read waits. Default 4,096.
    /// </summary>
    public int IngestBufferEntries { get; set; } = 4096;

    /// <summary>How long a stream with no subscriber keeps its upstream and replay buffer for a returning client. Default 30 s.</summary>
    public TimeSpan IdleGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A subscriber with queued lines that takes none for this long is closed as stalled. Default 30 s.</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First wait before reopening an upstream after a transient fault; doubles up to <see cref="RetryMaxBackoff"/>. Default 500 ms.</summary>
    public TimeSpan RetryInitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between two reopening attempts. Default 10 s.</summary>
    public TimeSpan RetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After this long without a working upstream the stream fails and its subscribers get an error. Default 5 min.</summary>
    public TimeSpan RetryGiveUpAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How far out of timestamp order lines of one partition may arrive (Docker stamps stdout and stderr with two
    /// copiers). Every reopened read starts this much before the last line passed on and drops what it already
    /// passed on by identity, so a line stamped a little earlier but written later is not lost at a seam. Default 2 s.
    /// </summary>
    public TimeSpan SeamMargin { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Partitions (tasks of a service) whose last line a cursor names; beyond it the quietest are folded into the
    /// cursor's floor. Keeps a cursor under 4 KiB. Default 32, at most 100.
    /// </summary>
    public int CursorPartitions { get; set; } = 32;

    /// <summary>
    /// Identities of the last lines of a stream kept to drop a line Docker sends twice (around a json-file rotation,
    /// at the start of a reopened read). Default 4,096.
    /// </summary>
    public int RepeatWindowEntries { get; set; } = 4096;

    /// <summary>
    /// Most lines a resume reads from the source when the replay buffer no longer holds the cursor's position (after a
    /// restart of the service, on another instance); when more were written since, the client gets a gap marker.
    /// Default 10,000.
    /// </summary>
    public int ResumeReadEntries { get; set; } = 10_000;

    /// <summary>
    /// Partitions (tasks of a service) whose newest <see cref="ReplayEntries"/> lines are kept apart for tails counted
    /// per task, so a quiet replica's lines are not pushed out by busy ones; beyond it the quietest task goes and a
    /// tail says it may be short. Default 256.
    /// </summary>
    public int TailPartitions { get; set; } = 256;

    /// <summary>
    /// Bytes queued per subscriber (lines with their cached frames, <c>LogEntry.ApproximateSize</c>) before its oldest
    /// queued chunks are dropped, as with <see cref="SubscriberQueueEntries"/>: whichever bound is reached first. A line
    /// of 64 KiB counts about 384 KiB (its text and both frames), so a slow client of such lines holds about 21 of them
    /// (some 0.4 s of a writer at 50 lines/s) instead of 2,048; lines of up to about 500 characters (4 KiB counted)
    /// still reach the line bound first, so typical logs behave as before. Default 8 MiB.
    /// </summary>
    public long SubscriberQueueBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Bytes held by every stream's replay buffer and every subscriber queue together, for the whole process. At the
    /// limit, the buffer or queue adding bytes drops its own oldest entries first (a gap marker for a queue's reader,
    /// <c>not_retained</c> for a late joiner), so one big stream cannot evict the others' history. Default 512 MiB.
    /// </summary>
    public long TotalBufferBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// How long what an id or name resolved to is reused, so a reconnect storm costs the daemon one inspect per name
    /// instead of one per viewer. Only while the host's Docker events are watched (a create, destroy or rename
    /// forgets it at once, so a name reused by a new container never shows the old one's logs); 0 turns it off.
    /// Default 0 (off): the watch is one more long-lived connection to each host, worth it where reconnect storms
    /// happen (several instances behind a proxy: scripts/cluster.sh and docs/scale-out.md set 5 s).
    /// </summary>
    public TimeSpan ResolveCacheTtl { get; set; } = TimeSpan.Zero;

    /// <summary>Names and ids held by the resolve cache at most; beyond it nothing new is cached until entries expire. Default 10,000.</summary>
    public int ResolveCacheEntries { get; set; } = 10_000;
}

/// <summary>Start-up validation: a bad limit stops the service with a message naming the setting.</summary>
public sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions o)
    {
        var errors = new List<string>();
        if (o.ReplayEntries is < 1 or > 1_000_000)
            errors.Add($"Pipeline:ReplayEntries must be between 1 and 1000000 (was {o.ReplayEntries}).");
        if (o.ReplayBytes < 64 * 1024)
            errors.Add($"Pipeline:ReplayBytes must be at least 65536 (was {o.ReplayBytes}).");
        if (o.SubscriberQueueEntries is < 16 or > 1_000_000)
            errors.Add($"Pipeline:SubscriberQueueEntries must be between 16 and 1000000 (was {o.SubscriberQueueEntries}).");
        if (o.IngestBufferEntries is < 16 or > 1_000_000)
            errors.Add($"Pipeline:IngestBufferEntries must be between 16 and 1000000 (was {o.IngestBufferEntries}).");
        if (o.IdleGrace < TimeSpan.Zero || o.IdleGrace > TimeSpan.FromHours(1))
            errors.Add($"Pipeline:IdleGrace must be between 00:00:00 and 01:00:00 (was {o.IdleGrace}).");
        if (o.StallTimeout < TimeSpan.FromMilliseconds(100) || o.StallTimeout > TimeSpan.FromHours(1))
            errors.Add($"Pipeline:StallTimeout must be between 00:00:00.1 and 01:00:00 (was {o.StallTimeout}).");
        if (o.RetryInitialBackoff <= TimeSpan.Zero)
            errors.Add($"Pipeline:RetryInitialBackoff must be positive (was {o.RetryInitialBackoff}).");
        if (o.RetryMaxBackoff < o.RetryInitialBackoff)
            errors.Add($"Pipeline:RetryMaxBackoff must be at least RetryInitialBackoff (was {o.RetryMaxBackoff}).");
        if (o.RetryGiveUpAfter < o.RetryInitialBackoff)
            errors.Add($"Pipeline:RetryGiveUpAfter must be at least RetryInitialBackoff (was {o.RetryGiveUpAfter}).");
        if (o.SeamMargin < TimeSpan.Zero || o.SeamMargin > TimeSpan.FromMinutes(10))
            errors.Add($"Pipeline:SeamMargin must be between 00:00:00 and 00:10:00 (was {o.SeamMargin}).");
        if (o.CursorPartitions is < 1 or > 100)
            errors.Add($"Pipeline:CursorPartitions must be between 1 and 100 (was {o.CursorPartitions}).");
        if (o.RepeatWindowEntries is < 1 or > 1_000_000)
            errors.Add($"Pipeline:RepeatWindowEntries must be between 1 and 1000000 (was {o.RepeatWindowEntries}).");
        if (o.TailPartitions is < 1 or > 10_000)
            errors.Add($"Pipeline:TailPartitions must be between 1 and 10000 (was {o.TailPartitions}).");
        if (o.ResumeReadEntries is < 1 or > 1_000_000)
            errors.Add($"Pipeline:ResumeReadEntries must be between 1 and 1000000 (was {o.ResumeReadEntries}).");
        if (o.SubscriberQueueBytes < 64 * 1024)
            errors.Add($"Pipeline:SubscriberQueueBytes must be at least 65536 (was {o.SubscriberQueueBytes}).");
        if (o.ResolveCacheTtl < TimeSpan.Zero || o.ResolveCacheTtl > TimeSpan.FromMinutes(5))
            errors.Add($"Pipeline:ResolveCacheTtl must be between 00:00:00 and 00:05:00 (was {o.ResolveCacheTtl}).");
        if (o.ResolveCacheEntries is < 1 or > 1_000_000)
            errors.Add($"Pipeline:ResolveCacheEntries must be between 1 and 1000000 (was {o.ResolveCacheEntries}).");
        if (o.TotalBufferBytes < Math.Max(o.ReplayBytes, o.SubscriberQueueBytes))
            errors.Add($"Pipeline:TotalBufferBytes must be at least ReplayBytes and SubscriberQueueBytes (was {o.TotalBufferBytes}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
