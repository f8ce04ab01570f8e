using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Turns a file's lines into records: a line without a time of its own (a panic's stack, a wrapped message) takes the
/// time of the line before it plus one nanosecond per line since (two equal stack lines under one message stay two
/// lines, and every read of the file gives them the same times); only a read's first lines, when they have none, fall
/// back to the time they were read (and say so). A line cut at <c>MaxLineBytes</c> ends with the journal's cut mark
/// and has <c>metadata.truncated</c>, as a cut journal entry does: never cut silently.
/// </summary>
internal sealed class LineRecords(ILogLineFormat format, TimeProvider time, int maxLineBytes)
{
    private LogTimestamp? _last;
    private long _continued;

    public SourceRecord ToRecord(RawLine line, bool offsetKnown)
    {
        var parsed = format.Parse(line.Text, offsetKnown ? line.Offset : null);
        var receiveTime = false;
        LogTimestamp timestamp;
        if (parsed.Timestamp is { } own)
        {
            timestamp = own;
            _last = own;
            _continued = 0;
        }
        else if (_last is { } previous)
        {
            timestamp = new LogTimestamp(previous.UnixNanoseconds + ++_continued);
        }
        else
        {
            timestamp = LogTimestamp.FromDateTimeOffset(time.GetUtcNow());
            receiveTime = true;
        }
        if (!line.Cut)
            return new SourceRecord(timestamp, receiveTime, OutputStream.System, parsed.Text, parsed.Level, parsed.Metadata);
        var metadata = parsed.Metadata is null ? new Dictionary<string, string>(1, StringComparer.Ordinal) : new Dictionary<string, string>(parsed.Metadata, StringComparer.Ordinal);
        metadata[JournalEntry.TruncatedKey] = "true";
        return new SourceRecord(timestamp, receiveTime, OutputStream.System, parsed.Text + JournalEntry.CutMark(maxLineBytes), parsed.Level, metadata);
    }
}
