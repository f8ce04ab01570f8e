using System.Globalization;
using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Reads a located host or daemon log from a <see cref="SourceStart"/>: a journal through journalctl, a file followed
/// across rotation, either by this process (<see cref="HostLogAccess.Local"/>) or by a reader container on the host
/// (<see cref="HostLogAccess.Container"/>: journalctl or <c>tail -F</c> there).
/// <para>
/// Positions need no cursor of their own: every line has a time that is the same on every read (the journal's
/// microsecond with the entry's sequence number below it, a file line's own time with its offset below the format's
/// precision, dockerd's nanoseconds), so the pipeline's resume (a read from a margin before the last time, then the
/// last line found again by time and text) is exact here as it is for containers.
/// </para>
/// </summary>
public sealed class HostLogReader(DockerHosts hosts, IOptions<DockerOptions> options, TimeProvider time)
{
    private readonly HostLogOptions _options = options.Value.HostLogs;

    public IAsyncEnumerable<SourceRecord> ReadAsync(string hostId, HostLogLocation location, HostLogKind kind, SourceStart start, CancellationToken cancellationToken)
    {
        if (location.Journal is not null)
            return ReadJournalAsync(hostId, location, kind, start, cancellationToken);
        return location.Access == HostLogAccess.Local
            ? ReadLocalFileAsync(location.File!, Format(kind), start, cancellationToken)
            : ReadFileThroughContainerAsync(hostId, location, Format(kind), start, cancellationToken);
    }

    private ILogLineFormat Format(HostLogKind kind) => kind == HostLogKind.Daemon ? LogfmtLine.Instance : new SyslogLine(time);

    private async IAsyncEnumerable<SourceRecord> ReadJournalAsync(string hostId, HostLogLocation location, HostLogKind kind, SourceStart start,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // dockerd's lines carry their own time= (which the records take), the journal filters on its receive time: the
        // range is widened by the slack and cut here on the lines' own times.
        var daemon = kind == HostLogKind.Daemon;
        var arguments = JournalCommand.Arguments(location, start, daemon ? _options.OutOfOrderSlack : TimeSpan.Zero);
        // An entry's JSON is longer than its message (escapes, the other fields): it is assembled whole up to a larger
        // bound, and its message is cut to MaxLineBytes with a visible mark, never dropped.
        var jsonBytes = JournalEntry.JsonBytesFor(_options.MaxLineBytes);
        var lines = location.Access == HostLogAccess.Local
            ? LocalProcess.ReadLinesAsync(_options.JournalctlPath, JournalCommand.JournalctlSetting, arguments, jsonBytes, start.OnConnected, cancellationToken)
            : ReaderContainer.ReadLinesAsync(hosts.GetClient(hostId), hostId, _options.EffectiveReaderOwner, Image(location), ["journalctl", .. arguments],
                [location.Journal!], kind.ToString().ToLowerInvariant(), jsonBytes, start.Follow, start.OnConnected, cancellationToken);
        LogTimestamp? lastTime = null;
        await foreach (var line in lines.ConfigureAwait(false))
        {
            if (line.Cut)
            {
                var marker = JournalEntry.Oversized(line.Text, jsonBytes, lastTime, time);
                lastTime = marker.Timestamp;
                yield return marker;
                continue;
            }
            if (JournalEntry.Parse(line.Text, logfmt: daemon, _options.MaxLineBytes) is not { } record)
            {
                // Not an entry (journalctl wrote something else on its output): marked, never dropped silently; at the
                // last entry's time, so it stays between the entries it came between.
                if (line.Text.Length > 0)
                    yield return JournalEntry.Unreadable(line.Text, lastTime, time);
                continue;
            }
            lastTime = record.Timestamp;
            if (!start.IsAfterUntil(record.Timestamp) && !(daemon && start.Tail is null && IsBefore(record, start.Since)))
                yield return record;
        }
    }

    private async IAsyncEnumerable<SourceRecord> ReadLocalFileAsync(string path, ILogLineFormat format, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = FileHistory.Locate(path, start.Tail, start.Since, format);
        var file = new FollowedFile(path, _options, time);
        var records = new LineRecords(format, time, _options.MaxLineBytes);
        start.OnConnected?.Invoke();
        await foreach (var line in file.ReadAsync(from, start.Follow, cancellationToken).ConfigureAwait(false))
        {
            var record = records.ToRecord(line, offsetKnown: true);
            // A file is in time order only roughly: a line past `until` is skipped, and the range ends at the first
            // line past `until` and the slack (a later line stamped before `until` is still in it).
            if (IsAfter(record, start))
            {
                if (IsPastSlack(record, start))
                    yield break;
                continue;
            }
            if (!IsBefore(record, start.Since))
                yield return record;
        }
    }

    /// <summary>
    /// <c>tail</c> cannot seek by time: a read from a time takes the last <see cref="HostLogOptions.ReaderReadBackLines"/>
    /// lines and keeps those at or after it (and, for a bounded history, the last <c>tail</c> of them). A follow runs
    /// <see cref="ReaderFollowScript"/> (not <c>tail -F</c>, which loses lines at a rotation); its control line that
    /// lines may be missing becomes an incomplete marker.
    /// </summary>
    private async IAsyncEnumerable<SourceRecord> ReadFileThroughContainerAsync(string hostId, HostLogLocation location, ILogLineFormat format, SourceStart start,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = location.File!;
        var lines = start switch
        {
            { Since: not null } => _options.ReaderReadBackLines.ToString(CultureInfo.InvariantCulture),
            { Tail: { } tail } => tail.ToString(CultureInfo.InvariantCulture),
            _ => "+1",
        };
        IReadOnlyList<string> command = start.Follow ? ReaderFollowScript.Command(path, lines, _options.PollInterval) : ["tail", "-n", lines, path];
        var directory = System.IO.Path.GetDirectoryName(path) ?? path;
        var records = new LineRecords(format, time, _options.MaxLineBytes);
        var bounded = start is { Since: not null, Tail: { } keep, Follow: false } ? new Queue<SourceRecord>(keep + 1) : null;
        LogTimestamp? lastTime = null;
        await foreach (var line in ReaderContainer.ReadLinesAsync(hosts.GetClient(hostId), hostId, _options.EffectiveReaderOwner, Image(location), command,
                           [directory], "file", _options.MaxLineBytes, start.Follow, start.OnConnected, cancellationToken).ConfigureAwait(false))
        {
            if (line.Text.StartsWith(ReaderFollowScript.IncompletePrefix, StringComparison.Ordinal))
            {
                // Stamped at the last line's time, not the clock: the lines after it are stamped by the file, and a
                // marker ahead of them in time would put them behind it.
                yield return SourceRecord.IncompleteMarker(lastTime ?? LogTimestamp.FromDateTimeOffset(time.GetUtcNow()), line.Text[ReaderFollowScript.IncompletePrefix.Length..]);
                continue;
            }
            var record = records.ToRecord(line, offsetKnown: false);
            lastTime = record.Timestamp;
            if (IsAfter(record, start))
            {
                if (IsPastSlack(record, start))
                    break;
                continue;
            }
            if (IsBefore(record, start.Since))
                continue;
            if (bounded is null)
            {
                yield return record;
                continue;
            }
            bounded.Enqueue(record);
            if (bounded.Count > start.Tail)
                bounded.Dequeue();
        }
        if (bounded is not null)
        {
            foreach (var record in bounded)
                yield return record;
        }
    }

    private string Image(HostLogLocation location) => location.ReaderImage ?? _options.ReaderImage;

    private static bool IsAfter(SourceRecord record, SourceStart start) =>
        !start.Follow && !record.TimestampIsReceiveTime && start.IsAfterUntil(record.Timestamp);

    private bool IsPastSlack(SourceRecord record, SourceStart start) =>
        start.Until is { } until && record.Timestamp.UnixNanoseconds - until.UnixNanoseconds > _options.OutOfOrderSlack.Ticks * 100;

    private static bool IsBefore(SourceRecord record, LogTimestamp? since) =>
        since is { } from && !record.TimestampIsReceiveTime && record.Timestamp < from;
}
