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
        var arguments = JournalCommand.Arguments(location, start);
        var lines = location.Access == HostLogAccess.Local
            ? LocalProcess.ReadLinesAsync(_options.JournalctlPath, JournalCommand.JournalctlSetting, arguments, _options.MaxLineBytes, start.OnConnected, cancellationToken)
            : ReaderContainer.ReadLinesAsync(hosts.GetClient(hostId), hostId, Image(location), ["journalctl", .. arguments], [location.Journal!],
                kind.ToString().ToLowerInvariant(), _options.MaxLineBytes, start.OnConnected, cancellationToken);
        await foreach (var line in lines.ConfigureAwait(false))
        {
            if (JournalEntry.Parse(line.Text, logfmt: kind == HostLogKind.Daemon) is { } record)
                yield return record;
        }
    }

    private async IAsyncEnumerable<SourceRecord> ReadLocalFileAsync(string path, ILogLineFormat format, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = FileHistory.Locate(path, start.Tail, start.Since, format);
        var file = new FollowedFile(path, _options, time);
        var records = new LineRecords(format, time);
        start.OnConnected?.Invoke();
        await foreach (var line in file.ReadAsync(from, start.Follow, cancellationToken).ConfigureAwait(false))
        {
            var record = records.ToRecord(line, offsetKnown: true);
            if (!IsBefore(record, start.Since))
                yield return record;
        }
    }

    /// <summary>
    /// <c>tail</c> cannot seek by time: a read from a time takes the last <see cref="HostLogOptions.ReaderReadBackLines"/>
    /// lines and keeps those at or after it (and, for a bounded history, the last <c>tail</c> of them). busybox's
    /// <c>tail -F</c> follows the file by name across a rename and reads a truncated file again from its start.
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
        List<string> command = start.Follow ? ["tail", "-n", lines, "-F", path] : ["tail", "-n", lines, path];
        var directory = System.IO.Path.GetDirectoryName(path) ?? path;
        var records = new LineRecords(format, time);
        var bounded = start is { Since: not null, Tail: { } keep, Follow: false } ? new Queue<SourceRecord>(keep + 1) : null;
        await foreach (var line in ReaderContainer.ReadLinesAsync(hosts.GetClient(hostId), hostId, Image(location), command, [directory],
                           "file", _options.MaxLineBytes, start.OnConnected, cancellationToken).ConfigureAwait(false))
        {
            var record = records.ToRecord(line, offsetKnown: false);
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

    private static bool IsBefore(SourceRecord record, LogTimestamp? since) =>
        since is { } from && !record.TimestampIsReceiveTime && record.Timestamp < from;
}
