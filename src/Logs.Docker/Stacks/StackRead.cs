using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Stacks;

/// <summary>
/// One read of a whole stack: every member read at once into one buffer (unmerged; <c>MergedRead</c> orders them).
/// While following, members join and leave as Docker's events say: an event makes the stack list its members again
/// (events, not a periodic listing: a member joins within the event's latency rather than an interval's, and a quiet
/// stack costs the manager nothing), from the daemon's own time taken before the first listing, so a member added
/// between that listing and the event subscription is still seen. If the event stream fails, the stack is listed
/// every <see cref="StackOptions.PollInterval"/> instead.
/// <para>
/// Each member is read on its own (<see cref="MemberRead"/>): its read that ends (a service removed, a container
/// stopped) or fails (a marker says so) leaves the others streaming, and one that breaks is reopened from that member's
/// own last line, not from a stack-wide point that could skip a member running behind. A member whose read failed is
/// kept aside and read again, from its own progress, only after <see cref="StackOptions.FailedMemberRetryAfter"/> or
/// when Docker shows a new run of it: never at once (that replayed its history in a loop). The stack's read ends when
/// the stack has no member left (or, without following, when every member's history is read), after the reads still
/// open had <see cref="StackOptions.RemovalDrainTimeout"/> to pass on their last lines; it fails only when the stack
/// cannot be listed for <see cref="StackOptions.MemberRetryGiveUpAfter"/>. Every member's read is cancelled and awaited
/// before the stack's read is over: none outlives it.
/// </para>
/// </summary>
/// <param name="seamMargin">How far before a member's last line its reopened read starts (<see cref="DockerOptions.RestartSeamMargin"/>).</param>
internal sealed partial class StackRead(StackMembership membership, StackOptions options, TimeSpan seamMargin, TimeProvider time, ILogger logger)
{
    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lines = Channel.CreateBounded<SourceRecord>(new BoundedChannelOptions(options.BufferedLines) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var coordinating = CoordinateAsync(key, start, lines.Writer, read.Token);
        try
        {
            await foreach (var record in lines.Reader.ReadAllAsync(read.Token).ConfigureAwait(false))
                yield return record;
        }
        finally
        {
            await read.CancelAsync().ConfigureAwait(false);
            try
            {
                // Rethrows the stack's own failure (it could not be listed) once the lines before it were passed on.
                await coordinating.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (read.IsCancellationRequested)
            {
            }
        }
    }

    private async Task CoordinateAsync(StreamKey key, SourceStart start, ChannelWriter<SourceRecord> lines, CancellationToken cancellationToken)
    {
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var active = new Dictionary<Task<MemberEnd>, MemberRead>();
        var failed = new Dictionary<string, FailedMember>(StringComparer.Ordinal);
        var read = new HashSet<string>(StringComparer.Ordinal);
        var changes = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });
        Task? watching = null;
        try
        {
            var since = start.Follow ? await membership.DaemonNowAsync(cancellationToken).ConfigureAwait(false) : null;
            // The stack answered once its first member did.
            var connected = 0;
            var onConnected = start.OnConnected;
            var first = start with { OnConnected = onConnected is null ? null : () => { if (Interlocked.Exchange(ref connected, 1) == 0) onConnected(); } };
            var members = await membership.ListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var member in members.Where(m => m.HasRun))
                Start(member.Id, first, rejoining: false);
            if (start.Follow)
                watching = WatchAsync(key, since, changes.Writer, reading.Token);

            Task<bool>? changed = null;
            Task? relist = null;
            long? listingFailingSince = null;
            while (members.Count > 0 && (active.Count > 0 || start.Follow))
            {
                if (start.Follow)
                    changed ??= changes.Reader.WaitToReadAsync(cancellationToken).AsTask();
                IEnumerable<Task> waits = active.Keys;
                // A failed member's retry wakes the read once; a due one not restarted waits for the next change.
                waits = waits.Concat(failed.Values.Select(f => f.Due).Where(d => !d.IsCompleted));
                if (changed is not null)
                    waits = waits.Append(changed);
                if (relist is not null)
                    waits = waits.Append(relist);
                var woke = await Task.WhenAny(waits).ConfigureAwait(false);
                // Checked here, not left to the listing below: at teardown every member's read ends, and a member that
                // may run again would otherwise be listed and restarted at once, over and over (a membership whose
                // listing answers without looking at the token turned a test's dispose into a busy loop).
                cancellationToken.ThrowIfCancellationRequested();
                if (woke is Task<MemberEnd> memberRead && active.Remove(memberRead, out var ended))
                {
                    // A member's read never throws (its failure is a marker); this ends it.
                    if (await memberRead.ConfigureAwait(false) == MemberEnd.Failed && start.Follow)
                    {
                        // Its run is noted before the retry is due, so a start seen after this is a new run.
                        var run = await CurrentRunAsync(ended.Id, cancellationToken).ConfigureAwait(false);
                        failed[ended.Id] = new FailedMember(ended, run, Task.Delay(options.FailedMemberRetryAfter, time, reading.Token));
                        LogMemberFailedAside(logger, key, ended.Id, options.FailedMemberRetryAfter);
                    }
                    else
                    {
                        LogMemberEnded(logger, key, ended.Id);
                    }
                }
                else if (failed.Values.Any(f => f.Due == woke))
                {
                    // A failed member's retry is due: the listing below restarts it.
                }
                else if (woke == relist)
                {
                    await woke.ConfigureAwait(false);
                    relist = null;
                }
                else
                {
                    await woke.ConfigureAwait(false);
                    changed = null;
                    while (changes.Reader.TryRead(out _))
                    {
                    }
                }
                if (!start.Follow)
                    continue;
                // After any change, and after a member's read ended (a container may have started again meanwhile).
                try
                {
                    members = await membership.ListAsync(cancellationToken).ConfigureAwait(false);
                    listingFailingSince = null;
                }
                catch (LogSourceException ex) when (ex.IsTransient)
                {
                    // The members' own reads go on (each retries on its own); the listing is tried again after a poll.
                    listingFailingSince ??= time.GetTimestamp();
                    if (time.GetElapsedTime(listingFailingSince.Value) >= options.MemberRetryGiveUpAfter)
                    {
                        // The pipeline reopens the stack from one point for all members; one that ran behind may lose
                        // lines there, so the gap is marked rather than silent.
                        // Stamped at the newest line passed on, not the clock: a marker ahead of the members' lines in
                        // time would be merged ahead of lines written before it.
                        var newest = active.Values.Concat(failed.Values.Select(f => f.Read)).Select(m => m.NewestPassed).Max();
                        await lines.WriteAsync(SourceRecord.IncompleteMarker(newest ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow()),
                            $"The stack could not be listed for {options.MemberRetryGiveUpAfter} ({ex.Message}); its read is reopened, and lines of a member that ran behind may be missing here."),
                            cancellationToken).ConfigureAwait(false);
                        throw;
                    }
                    LogListingFailed(logger, key, ex.Message);
                    relist ??= Task.Delay(options.PollInterval, time, cancellationToken);
                    continue;
                }
                foreach (var gone in failed.Keys.Where(id => members.All(m => m.Id != id)).ToList())
                    failed.Remove(gone);
                foreach (var member in members)
                {
                    if (active.Values.Any(r => r.Id == member.Id))
                        continue;
                    if (failed.TryGetValue(member.Id, out var aside))
                    {
                        if (aside.Due.IsCompleted || (membership.MembersRunAgain && member.Running
                                && await CurrentRunAsync(member.Id, cancellationToken).ConfigureAwait(false) is { } run && run != aside.Run))
                        {
                            failed.Remove(member.Id);
                            LogMemberRetried(logger, key, member.Id);
                            Resume(aside.Read);
                        }
                        continue;
                    }
                    var again = read.Contains(member.Id);
                    if (again ? membership.MembersRunAgain && member.Running : member.HasRun)
                    {
                        LogMemberJoined(logger, key, member.Id);
                        Start(member.Id, SourceStart.LiveAll(), rejoining: again);
                    }
                }
            }
            if (start.Follow && members.Count == 0 && active.Count > 0)
            {
                // The stack was removed: Docker still sends its members' last lines before their reads end.
                var drained = Task.WhenAll(active.Keys);
                // Its timer is stopped once the members drained, not left running for the rest of the timeout.
                using (var drainEnds = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    await Task.WhenAny(drained, Task.Delay(options.RemovalDrainTimeout, time, drainEnds.Token)).ConfigureAwait(false);
                    await drainEnds.CancelAsync().ConfigureAwait(false);
                }
                cancellationToken.ThrowIfCancellationRequested();
            }
            LogStackEnded(logger, key);
        }
        finally
        {
            // No member's read outlives the stack's: each is cancelled and awaited (they end, never throw).
            await reading.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(active.Keys).ConfigureAwait(false);
            lines.TryComplete();
            changes.Writer.TryComplete();
            if (watching is not null)
                await watching.ConfigureAwait(false);
        }

        void Start(string id, SourceStart from, bool rejoining)
        {
            read.Add(id);
            var member = new MemberRead(membership, id, from, rejoining, options, seamMargin, time, logger);
            active[member.PumpAsync(key, lines, reading.Token)] = member;
        }

        // The same member's read again: it goes on from its own progress, or from where it first started when it had no line.
        void Resume(MemberRead member) => active[member.PumpAsync(key, lines, reading.Token)] = member;
    }

    /// <summary>A member's run as Docker shows it now; null when that cannot be told (the retry interval still applies).</summary>
    private async Task<string?> CurrentRunAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await membership.CurrentRunAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A member whose read failed: its read (to go on from its progress), the run it failed in, when its retry is due.</summary>
    private sealed record FailedMember(MemberRead Read, string? Run, Task Due);

    /// <summary>Signals each event that may change the membership; never throws. Falls back to a poll when events fail.</summary>
    private async Task WatchAsync(StreamKey key, string? since, ChannelWriter<bool> changes, CancellationToken cancellationToken)
    {
        try
        {
            await membership.WatchAsync(since, () => changes.TryWrite(true), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LogEventsFailed(logger, key, ex.Message);
        }
        try
        {
            while (true)
            {
                await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
                changes.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Member} joined the read of {Key}.")]
    private static partial void LogMemberJoined(ILogger logger, StreamKey key, string member);

    [LoggerMessage(Level = LogLevel.Information, Message = "The read of member {Member} of {Key} ended; the stack's other members go on.")]
    private static partial void LogMemberEnded(ILogger logger, StreamKey key, string member);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The read of member {Member} of {Key} failed; it is read again in {RetryAfter}, or when it runs again.")]
    private static partial void LogMemberFailedAside(ILogger logger, StreamKey key, string member, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Member} of {Key}, whose read failed, is read again from its own last line.")]
    private static partial void LogMemberRetried(ILogger logger, StreamKey key, string member);

    [LoggerMessage(Level = LogLevel.Information, Message = "The read of {Key} ended: no member left to read.")]
    private static partial void LogStackEnded(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch the events of {Key} ({Reason}); listing the stack every few seconds instead.")]
    private static partial void LogEventsFailed(ILogger logger, StreamKey key, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot list the members of {Key} ({Reason}); its members go on, the listing is tried again.")]
    private static partial void LogListingFailed(ILogger logger, StreamKey key, string reason);
}
