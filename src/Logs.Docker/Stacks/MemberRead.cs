using System.Threading.Channels;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Stacks;

/// <summary>How a member's read ended.</summary>
internal enum MemberEnd
{
    /// <summary>Its lines are over (a service removed, a container stopped), or the stack's read is.</summary>
    Ended,

    /// <summary>It failed or was given up (a marker said so); <see cref="StackRead"/> may read it again later.</summary>
    Failed,
}

/// <summary>
/// One member's part of a stack's read, which affects no other member. A read that breaks with a transient fault, or a
/// Swarm service's stream that ends while the service still exists, is reopened with the pipeline's seam rule
/// (<see cref="MemberProgress"/>: a margin before the last lines of its replicas still running, what comes again dropped by identity),
/// with backoff, until <see cref="StackOptions.MemberRetryGiveUpAfter"/> without a new line. A member removed meanwhile
/// simply ends. Any other failure, or giving up, ends this read with a marker naming the member (once until its next
/// line); a later <see cref="PumpAsync"/> of the same instance goes on from where its lines got to, or, when it had no
/// line yet, from where it was first asked to start (the client's start: a resumed session or a tail must not get the
/// member's whole history on a retry). Never throws.
/// </summary>
/// <param name="start">Where the member's lines begin, kept for every later pump that has no progress to go on from.</param>
/// <param name="rejoining">Whether the first read starts where the member's new run does (<see cref="StackMembership.ReadAsync"/>).</param>
internal sealed partial class MemberRead(StackMembership membership, string id, SourceStart start, bool rejoining, StackOptions options, TimeSpan seamMargin,
    TimeProvider time, ILogger logger)
{
    private readonly MemberProgress _progress = new(seamMargin, options.MaxTrackedReplicas);

    private long _newestPassedNanos = long.MinValue;

    public string Id => id;

    /// <summary>The newest timestamp of a line this member passed on, if any (read by the stack's coordinator while the member pumps).</summary>
    public LogTimestamp? NewestPassed => Volatile.Read(ref _newestPassedNanos) is var nanos && nanos != long.MinValue ? new LogTimestamp(nanos) : null;

    public async Task<MemberEnd> PumpAsync(StreamKey key, ChannelWriter<SourceRecord> lines, CancellationToken cancellationToken)
    {
        var from = start;
        var rejoin = rejoining;
        if (await ReopenFromAsync(cancellationToken).ConfigureAwait(false) is { } resume)
        {
            from = resume;
            rejoin = false;
            await WriteSeamMarkersAsync(lines, cancellationToken).ConfigureAwait(false);
        }
        var backoff = options.MemberRetryInitialBackoff;
        long? failingSince = null;
        try
        {
            while (true)
            {
                try
                {
                    await foreach (var record in membership.ReadAsync(id, from, rejoin, cancellationToken).ConfigureAwait(false))
                    {
                        if (!_progress.Offer(record))
                            continue;
                        // A new task: one it replaced may be gone, and is forgotten.
                        if (_progress.HasNewReplica)
                            _progress.Retain(await RunningReplicasAsync(cancellationToken).ConfigureAwait(false));
                        if (record.Incomplete is null)
                        {
                            failingSince = null;
                            backoff = options.MemberRetryInitialBackoff;
                        }
                        await lines.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                        if (record.Timestamp.UnixNanoseconds > _newestPassedNanos)
                            Volatile.Write(ref _newestPassedNanos, record.Timestamp.UnixNanoseconds);
                    }
                    // A Swarm service's read ends only when it is removed: a stream that ended while it still exists
                    // (the daemon closed it cleanly) is an outage of that member, reopened like one, not its end.
                    if (from.Follow && !membership.MembersRunAgain && await StillExistsAsync(cancellationToken).ConfigureAwait(false))
                        throw new LogSourceException(LogSourceErrorKind.Unavailable, $"The log stream of {membership.Describe(id)} ended while it still exists.");
                    return MemberEnd.Ended;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    if (ex is ChannelClosedException)
                        return MemberEnd.Ended;
                    if (!await StillExistsAsync(cancellationToken).ConfigureAwait(false))
                    {
                        LogMemberGone(logger, key, id, ex.Message);
                        return MemberEnd.Ended;
                    }
                    failingSince ??= time.GetTimestamp();
                    if (ex is LogSourceException { IsTransient: true } && time.GetElapsedTime(failingSince.Value) < options.MemberRetryGiveUpAfter)
                    {
                        LogMemberRetrying(logger, key, id, backoff, ex.Message);
                        await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                        backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MemberRetryMaxBackoff.Ticks));
                        if (await ReopenFromAsync(cancellationToken).ConfigureAwait(false) is { } reopen)
                        {
                            from = reopen;
                            rejoin = false;
                            await WriteSeamMarkersAsync(lines, cancellationToken).ConfigureAwait(false);
                        }
                        continue;
                    }
                    LogMemberFailed(logger, key, id, ex.Message, ex);
                    if (_progress.MarkFailure())
                    {
                        // Stamped at the member's newest line, not the clock: for a member running behind, a marker
                        // stamped now would sort ahead of its older lines still held by the merge and release them
                        // out of order. Before any line, nothing of it is held: now is as good as any time.
                        var marker = SourceRecord.IncompleteMarker(_progress.Newest ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
                            $"The read of {membership.Describe(id)} failed ({ex.Message}); its lines stop here until it is read again (in {options.FailedMemberRetryAfter}, or when it runs again), the stack's other members go on.")
                            with { Metadata = _progress.LastMetadata };
                        await lines.WriteAsync(marker, cancellationToken).ConfigureAwait(false);
                    }
                    return MemberEnd.Failed;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        return MemberEnd.Ended;
    }

    private async Task WriteSeamMarkersAsync(ChannelWriter<SourceRecord> lines, CancellationToken cancellationToken)
    {
        foreach (var marker in _progress.SeamMarkers)
            await lines.WriteAsync(marker, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where a reopened read of the member starts (<see cref="MemberProgress.ReopenFrom"/>); null before its first line.</summary>
    private async Task<SourceStart?> ReopenFromAsync(CancellationToken cancellationToken) =>
        _progress.Newest is null ? null : _progress.ReopenFrom(start, await RunningReplicasAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>The member's replicas running now; null when that cannot be told (then every replica counts as running).</summary>
    private async Task<IReadOnlySet<string>?> RunningReplicasAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await membership.RunningReplicasAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Whether the member is still in the stack; true when that cannot be told (the daemon does not answer).</summary>
    private async Task<bool> StillExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await membership.ListAsync(cancellationToken).ConfigureAwait(false)).Any(m => m.Id == id);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Member} of {Key} is gone ({Reason}); its lines end, the stack's other members go on.")]
    private static partial void LogMemberGone(ILogger logger, StreamKey key, string member, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The read of member {Member} of {Key} broke; reopening it from its own last line in {Backoff} ({Reason}).")]
    private static partial void LogMemberRetrying(ILogger logger, StreamKey key, string member, TimeSpan backoff, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The read of member {Member} of {Key} failed ({Reason}); its lines stop, the stack's other members go on.")]
    private static partial void LogMemberFailed(ILogger logger, StreamKey key, string member, string reason, Exception exception);
}

/// <summary>
/// Where one member's lines got to, per replica (by <see cref="StackLabels.ReplicaIdMetadata"/>), with the pipeline's
/// own seam rule (<see cref="ResumeFilter"/>, as a container's next run is read): a reopened read starts the seam margin
/// before the oldest last line among the replicas still running or that wrote within the margin of the member's newest
/// line, because stdout and stderr are stamped by two copiers (and replicas by their nodes' clocks), so a line stamped a
/// little before a replica's last may be written after it; what the reopened read gives again is dropped by identity
/// per replica. A replica that no longer runs (a replaced or crashed task) and whose lines all lie before that point is
/// forgotten, as nothing of it can come again, so a service replacing tasks for ever does not grow the read: at most
/// <paramref name="maxReplicas"/> are kept whatever happens (beyond, the one with the oldest last line goes first).
/// </summary>
internal sealed class MemberProgress(TimeSpan seamMargin, int maxReplicas)
{
    private readonly long _marginNanos = seamMargin.Ticks * 100;
    private readonly Dictionary<string, ResumeFilter> _replicas = new(StringComparer.Ordinal);
    private bool _marked;

    /// <summary>The metadata of the last line passed on (names the member in a marker); null before any.</summary>
    public IReadOnlyDictionary<string, string>? LastMetadata { get; private set; }

    /// <summary>The newest timestamp among the lines passed on; null before any.</summary>
    public LogTimestamp? Newest { get; private set; }

    /// <summary>How many replicas are tracked now.</summary>
    public int TrackedReplicas => _replicas.Count;

    /// <summary>Whether a replica was first seen since the last <see cref="Retain"/> (a new task: an older one may be gone).</summary>
    public bool HasNewReplica { get; private set; }

    /// <summary>Whether the record is new, noting it if so: after a reopen, a line its replica already gave is not.</summary>
    public bool Offer(SourceRecord record)
    {
        if (record.Incomplete is not null)
            return true;
        var replicaId = record.Metadata?.GetValueOrDefault(StackLabels.ReplicaIdMetadata) ?? "";
        if (!_replicas.TryGetValue(replicaId, out var replica))
        {
            if (_replicas.Count >= maxReplicas)
                _replicas.Remove(_replicas.MinBy(r => r.Value.Last?.UnixNanoseconds ?? long.MinValue).Key);
            _replicas[replicaId] = replica = new ResumeFilter(seamMargin);
            HasNewReplica = true;
        }
        else if (replica.IsRepeat(record))
        {
            return false;
        }
        replica.Observe(record);
        LastMetadata = record.Metadata;
        if (Newest is null || record.Timestamp > Newest.Value)
            Newest = record.Timestamp;
        _marked = false;
        return true;
    }

    /// <summary>True when a failure is to be marked: the first since the member's last line (a retry that fails again before a new line is not marked twice).</summary>
    public bool MarkFailure()
    {
        var first = !_marked;
        _marked = true;
        return first;
    }

    /// <summary>
    /// Forgets the replicas not in <paramref name="running"/> whose lines all lie before where a reopened read would start:
    /// a reopen cannot give them again. Null <paramref name="running"/> (not known): all are kept.
    /// </summary>
    public void Retain(IReadOnlySet<string>? running)
    {
        HasNewReplica = false;
        if (running is null || ReopenPoint(running) is not { } from)
            return;
        foreach (var (id, replica) in _replicas.Where(r => !running.Contains(r.Key) && r.Value.Last is { } last && last.UnixNanoseconds < from).ToList())
            _replicas.Remove(id);
    }

    /// <summary>
    /// The read that continues this member: the seam margin before the oldest last line of its replicas still running
    /// (all when <paramref name="running"/> is null: not known) or that wrote within the margin of its newest line, as
    /// <paramref name="start"/> did otherwise; null before any line (read as at first). A shut-down task's old lines are
    /// not read again.
    /// </summary>
    /// <summary>After <see cref="ReopenFrom"/>: a marker for each replica whose seam is judged partly by time (<see cref="ResumeFilter.SeamMarker"/>).</summary>
    public List<SourceRecord> SeamMarkers { get; } = [];

    public SourceStart? ReopenFrom(SourceStart start, IReadOnlySet<string>? running)
    {
        // Every replica drops what the reopened read gives again, whether or not it decides where that read starts.
        SeamMarkers.Clear();
        foreach (var replica in _replicas.Values)
        {
            replica.Reopen();
            if (replica.SeamMarker() is { } marker)
                SeamMarkers.Add(marker);
        }
        if (ReopenPoint(running) is not { } from)
            return null;
        Retain(running);
        return new SourceStart(null, new LogTimestamp(Math.Max(0, from)), start.Follow) { Until = start.Until };
    }

    private long? ReopenPoint(IReadOnlySet<string>? running)
    {
        if (Newest is not { } newest)
            return null;
        long? from = null;
        foreach (var (id, replica) in _replicas)
        {
            if (replica.Last is not { } last || (running is not null && !running.Contains(id) && last.UnixNanoseconds < newest.UnixNanoseconds - _marginNanos))
                continue;
            if (from is null || last.UnixNanoseconds - _marginNanos < from.Value)
                from = last.UnixNanoseconds - _marginNanos;
        }
        return from;
    }
}
