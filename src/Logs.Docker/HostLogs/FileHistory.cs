using System.Text;
using LogsMigration.Pipeline.Model;
using Microsoft.Win32.SafeHandles;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Finds where a read of a followed file begins, scanning back from the end (a syslog of gigabytes costs only the
/// lines wanted): the last <c>tail</c> lines, or the first line stamped at or after <c>since</c>, continuing into the
/// rotated predecessor <c>FILE.1</c> when the current file does not go back far enough.
/// </summary>
internal static class FileHistory
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Enough of a line to hold its timestamp.</summary>
    private const int StampBytes = 256;

    public static FilePoint Locate(string path, int? tail, LogTimestamp? since, ILogLineFormat format)
    {
        if (tail is null && since is null)
            return FilePoint.StartOfCurrent;
        var point = FilePoint.StartOfCurrent;
        if (tail is { } lines)
            point = LocateTail(path, lines);
        if (since is { } from)
            point = tail is null ? LocateSince(path, from, format) : FilePoint.Later(point, LocateSince(path, from, format));
        return point;
    }

    private static FilePoint LocateTail(string path, int lines)
    {
        var (found, remaining) = TailStart(path, lines);
        if (found is { } offset)
            return new FilePoint(false, offset);
        var (inRotated, _) = TailStart(RotatedPath(path), remaining);
        return inRotated is { } rotatedOffset ? new FilePoint(true, rotatedOffset) : File.Exists(RotatedPath(path)) ? new FilePoint(true, 0) : FilePoint.StartOfCurrent;
    }

    /// <summary>The offset of the <paramref name="lines"/>-th line from the end, or null and how many more lines are wanted before the file.</summary>
    private static (long? Offset, int Remaining) TailStart(string path, int lines)
    {
        if (lines <= 0)
            return (Length(path), 0);
        using var handle = TryOpen(path);
        if (handle is null)
            return (null, lines);
        var count = 0;
        foreach (var start in LineStartsBackward(handle))
        {
            if (++count == lines)
                return (start, 0);
        }
        return (null, lines - count);
    }

    private static FilePoint LocateSince(string path, LogTimestamp since, ILogLineFormat format)
    {
        var found = SinceStart(path, since, format);
        if (found is { } offset)
            return new FilePoint(false, offset);
        var rotated = SinceStart(RotatedPath(path), since, format);
        return rotated is { } rotatedOffset ? new FilePoint(true, rotatedOffset) : File.Exists(RotatedPath(path)) ? new FilePoint(true, 0) : FilePoint.StartOfCurrent;
    }

    /// <summary>The first stamped line at or after <paramref name="since"/>; null when every stamped line is at or after it.</summary>
    private static long? SinceStart(string path, LogTimestamp since, ILogLineFormat format)
    {
        using var handle = TryOpen(path);
        if (handle is null)
            return null;
        var after = RandomAccess.GetLength(handle);
        var buffer = new byte[StampBytes];
        foreach (var start in LineStartsBackward(handle))
        {
            var read = RandomAccess.Read(handle, buffer, start);
            var span = buffer.AsSpan(0, read);
            var newline = span.IndexOf((byte)'\n');
            var text = Encoding.UTF8.GetString(newline < 0 ? span : span[..newline]);
            // A line without a time of its own belongs to the stamped line before it, so a read never starts there.
            if (format.Parse(text, start).Timestamp is not { } stamp)
                continue;
            if (stamp < since)
                return after;
            after = start;
        }
        return null;
    }

    /// <summary>Where each line starts, last line first.</summary>
    internal static IEnumerable<long> LineStartsBackward(SafeFileHandle handle)
    {
        var length = RandomAccess.GetLength(handle);
        var buffer = new byte[BlockSize];
        var end = length;
        while (end > 0)
        {
            var begin = Math.Max(0, end - BlockSize);
            var count = RandomAccess.Read(handle, buffer.AsSpan(0, (int)(end - begin)), begin);
            for (var i = count - 1; i >= 0; i--)
            {
                var at = begin + i;
                if (buffer[i] == (byte)'\n' && at + 1 < length)
                    yield return at + 1;
            }
            end = begin;
        }
        if (length > 0)
            yield return 0;
    }

    public static string RotatedPath(string path) => path + ".1";

    private static long Length(string path)
    {
        using var handle = TryOpen(path);
        return handle is null ? 0 : RandomAccess.GetLength(handle);
    }

    public static SafeFileHandle? TryOpen(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
