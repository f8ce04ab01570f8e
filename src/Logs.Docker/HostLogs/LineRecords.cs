using LogsMigration.Pipeline.Model;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Turns a file's lines into records: a line without a time of its own (a panic's stack, a wrapped message) takes the
/// time of the line before it plus one nanosecond per line since (two equal stack lines under one message stay two
/// lines, and every read of the file gives them the same times); only a read's first lines, when they have none, fall
/// back to the time they were read (and say so).
/// </summary>
internal sealed class LineRecords(ILogLineFormat format, TimeProvider time)
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
        return new SourceRecord(timestamp, receiveTime, OutputStream.System, parsed.Text, parsed.Level, parsed.Metadata);
    }
}
