using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
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
/// every <see cref="PollInterval"/> instead. A member's read that ends (a service removed, a container stopped) leaves
/// the others streaming; the read ends when the stack has no member left (or, without following, when every member's
/// history is read). A member's read that fails fails the stack's read, which the pipeline reopens as one.
/// </summary>
internal sealed partial class StackRead(DockerClient client, StackMembership membership, TimeProvider time, ILogger logger)
{
    /// <summary>How often the stack is listed when Docker's event stream cannot be watched.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>Lines read from the members and not yet taken by the merge; beyond it the members' reads wait.</summary>
    private const int BufferedLines = 1024;

    public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lines = Channel.CreateBounded<SourceRecord>(new BoundedChannelOptions(BufferedLines) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
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
                // Rethrows a member's failure once its lines before the failure were passed on.
                await coordinating.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (read.IsCancellationRequested)
            {
            }
        }
    }

    private async Task CoordinateAsync(StreamKey key, SourceStart start, ChannelWriter<SourceRecord> lines, CancellationToken cancellationToken)
    {
        var active = new Dictionary<Task, string>();
        var read = new HashSet<string>(StringComparer.Ordinal);
        var changes = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });
        Task? watching = null;
        try
        {
            var since = start.Follow ? await DaemonNowAsync(key.HostId, cancellationToken).ConfigureAwait(false) : null;
            // The stack answered once its first member did.
            var connected = 0;
            var onConnected = start.OnConnected;
            var first = start with { OnConnected = onConnected is null ? null : () => { if (Interlocked.Exchange(ref connected, 1) == 0) onConnected(); } };
            var members = await membership.ListAsync(initial: true, cancellationToken).ConfigureAwait(false);
            foreach (var member in members.Where(m => m.Readable))
                Start(member.Id, first, rejoining: false);
            if (start.Follow)
                watching = WatchAsync(key, since, changes.Writer, cancellationToken);

            Task<bool>? changed = null;
            while (members.Count > 0 && (active.Count > 0 || start.Follow))
            {
                if (start.Follow)
                    changed ??= changes.Reader.WaitToReadAsync(cancellationToken).AsTask();
                var woke = await Task.WhenAny(changed is null ? active.Keys : active.Keys.Append(changed)).ConfigureAwait(false);
                if (active.Remove(woke, out var ended))
                {
                    await woke.ConfigureAwait(false);
                    LogMemberEnded(logger, key, ended);
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
                members = await membership.ListAsync(initial: false, cancellationToken).ConfigureAwait(false);
                foreach (var member in members.Where(m => m.Readable && !active.ContainsValue(m.Id) && (membership.MembersRunAgain || !read.Contains(m.Id))))
                {
                    LogMemberJoined(logger, key, member.Id);
                    Start(member.Id, SourceStart.LiveAll(), rejoining: read.Contains(member.Id));
                }
            }
            LogStackEnded(logger, key);
        }
        finally
        {
            lines.TryComplete();
            changes.Writer.TryComplete();
            if (watching is not null)
                await watching.ConfigureAwait(false);
        }

        void Start(string id, SourceStart from, bool rejoining)
        {
            read.Add(id);
            active[PumpAsync(id, from, rejoining, lines, cancellationToken)] = id;
        }
    }

    private async Task PumpAsync(string id, SourceStart start, bool rejoining, ChannelWriter<SourceRecord> lines, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var record in membership.ReadAsync(id, start, rejoining, cancellationToken).ConfigureAwait(false))
                await lines.WriteAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Another member failed and ended the stack's read: this one's lines have nowhere to go.
        }
    }

    /// <summary>The daemon's clock, as its events' <c>since</c> wants it; null (from now) when the daemon does not say.</summary>
    private async Task<string?> DaemonNowAsync(string hostId, CancellationToken cancellationToken)
    {
        var info = await DockerErrors.GuardAsync(hostId, ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
            () => client.System.GetSystemInfoAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        return info.SystemTime is { Length: > 0 } now && LogTimestamp.TryParse(now, out var timestamp) ? timestamp.ToUnixSecondsString() : null;
    }

    /// <summary>Signals each event that may change the membership; never throws. Falls back to a poll when events fail.</summary>
    private async Task WatchAsync(StreamKey key, string? since, ChannelWriter<bool> changes, CancellationToken cancellationToken)
    {
        try
        {
            await client.System.MonitorEventsAsync(membership.Events(since), new SyncProgress<Message>(_ => changes.TryWrite(true)), cancellationToken).ConfigureAwait(false);
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
                await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "The read of {Key} ended: no member left to read.")]
    private static partial void LogStackEnded(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch the events of {Key} ({Reason}); listing the stack every few seconds instead.")]
    private static partial void LogEventsFailed(ILogger logger, StreamKey key, string reason);
}
