using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// Reads a log file from a <see cref="FilePoint"/> and, when following, across its rotations, with no line lost or
/// given twice:
/// <list type="bullet">
/// <item>rename (<c>FILE</c> becomes <c>FILE.1</c>, a new <c>FILE</c> appears): the open file is read to its end and
/// once more after one quiet poll (the writer may still append until it reopens), then the new file from its start;</item>
/// <item>copy-truncate (the file is copied, then cut to zero): the file is shorter than what was read, or the bytes
/// just before the read position changed (it was cut and written past that length between two polls); the lines
/// written after the last read and before the copy are read from the copy (when it holds what was read where it was
/// read), then the file again from its start.</item>
/// </list>
/// A rename is seen through <c>/proc/self/fd</c>: the open file's name changes when it is renamed or deleted.
/// </summary>
internal sealed class FollowedFile(string path, HostLogOptions options, TimeProvider time)
{
    private const int ReadSize = 64 * 1024;

    /// <summary>How many bytes before the read position are compared to tell a truncated-and-rewritten file.</summary>
    private const int WitnessBytes = 64;

    public string Path { get; } = path;

    public async IAsyncEnumerable<RawLine> ReadAsync(FilePoint start, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var assembler = new LineAssembler(options.MaxLineBytes);
        var lines = new List<RawLine>();
        var buffer = new byte[ReadSize];
        if (start.InRotated)
        {
            using var rotated = FileHistory.TryOpen(FileHistory.RotatedPath(Path));
            if (rotated is not null)
            {
                assembler.Reset(start.Offset);
                for (var offset = start.Offset; ;)
                {
                    var count = await RandomAccess.ReadAsync(rotated, buffer, offset, cancellationToken).ConfigureAwait(false);
                    if (count == 0)
                        break;
                    offset += count;
                    assembler.Append(buffer.AsSpan(0, count), lines);
                    foreach (var line in lines)
                        yield return line;
                    lines.Clear();
                }
                if (assembler.Flush() is { } last)
                    yield return last;
            }
            start = FilePoint.StartOfCurrent;
        }

        var current = await OpenAsync(follow, cancellationToken).ConfigureAwait(false);
        if (current is null)
            yield break;
        try
        {
            var offset = start.Offset;
            assembler.Reset(offset);
            var witness = new Witness();
            witness.Prime(current.Handle, offset);
            var quietAfterRename = 0;
            while (true)
            {
                // Checked before and after each read: a file cut and written again past the old length (between two
                // polls, or during the read itself) is new from its start, and what the read gave is not its content.
                var count = witness.StillThere(current.Handle, offset)
                    ? await RandomAccess.ReadAsync(current.Handle, buffer, offset, cancellationToken).ConfigureAwait(false)
                    : -1;
                if (count < 0 || (count > 0 && !witness.StillThere(current.Handle, offset)))
                {
                    await foreach (var line in ReadCopyAsync(offset, witness, assembler, buffer, cancellationToken).ConfigureAwait(false))
                        yield return line;
                    offset = 0;
                    assembler.Reset(0);
                    witness.Clear();
                    continue;
                }
                if (count > 0)
                {
                    offset += count;
                    witness.Keep(buffer.AsSpan(0, count));
                    assembler.Append(buffer.AsSpan(0, count), lines);
                    foreach (var line in lines)
                        yield return line;
                    lines.Clear();
                    quietAfterRename = 0;
                    continue;
                }
                if (!follow)
                {
                    if (assembler.Flush() is { } last)
                        yield return last;
                    yield break;
                }
                if (RandomAccess.GetLength(current.Handle) < offset)
                {
                    await foreach (var line in ReadCopyAsync(offset, witness, assembler, buffer, cancellationToken).ConfigureAwait(false))
                        yield return line;
                    offset = 0;
                    assembler.Reset(0);
                    witness.Clear();
                    continue;
                }
                if (current.WasRenamed() && File.Exists(Path) && ++quietAfterRename > 1)
                {
                    if (assembler.Flush() is { } partial)
                        yield return partial;
                    var next = await OpenAsync(follow, cancellationToken).ConfigureAwait(false);
                    current.Dispose();
                    current = next!;
                    offset = 0;
                    assembler.Reset(0);
                    witness.Clear();
                    quietAfterRename = 0;
                    continue;
                }
                await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>
    /// After a truncation: the lines written between the last read and the copy are in the copy (<c>FILE.1</c>) only.
    /// When the copy holds what was read at the same place (the witness bytes), it is read on from there; then the
    /// partial line held, if the copy did not complete it.
    /// </summary>
    private async IAsyncEnumerable<RawLine> ReadCopyAsync(long offset, Witness witness, LineAssembler assembler, byte[] buffer,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var copy = FileHistory.TryOpen(FileHistory.RotatedPath(Path));
        if (copy is not null && RandomAccess.GetLength(copy) > offset && witness.StillThere(copy, offset))
        {
            var lines = new List<RawLine>();
            for (var at = offset; ;)
            {
                var count = await RandomAccess.ReadAsync(copy, buffer, at, cancellationToken).ConfigureAwait(false);
                if (count == 0)
                    break;
                at += count;
                assembler.Append(buffer.AsSpan(0, count), lines);
                foreach (var line in lines)
                    yield return line;
                lines.Clear();
            }
        }
        if (assembler.Flush() is { } partial)
            yield return partial;
    }

    /// <summary>Opens the file; when following and it is not there yet (between a rename and the new file), waits for it.</summary>
    private async Task<OpenFile?> OpenAsync(bool follow, CancellationToken cancellationToken)
    {
        while (true)
        {
            var handle = FileHistory.TryOpen(Path);
            if (handle is not null)
                return new OpenFile(handle);
            if (!follow)
                return null;
            await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class OpenFile(SafeFileHandle handle) : IDisposable
    {
        private readonly string? _name = NameOf(handle);

        public SafeFileHandle Handle { get; } = handle;

        /// <summary>True once the open file has another name than when it was opened (renamed, or deleted).</summary>
        public bool WasRenamed() => _name is not null && NameOf(Handle) != _name;

        public void Dispose() => Handle.Dispose();

        private static string? NameOf(SafeFileHandle handle)
        {
            try
            {
                return new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>The last bytes read, to check they are still where they were.</summary>
    private sealed class Witness
    {
        private readonly byte[] _bytes = new byte[WitnessBytes];
        private int _count;

        public void Clear() => _count = 0;

        /// <summary>A read that starts inside the file takes the bytes before its start as the first witness.</summary>
        public void Prime(SafeFileHandle handle, long offset)
        {
            var count = (int)Math.Min(WitnessBytes, offset);
            _count = count > 0 ? RandomAccess.Read(handle, _bytes.AsSpan(0, count), offset - count) : 0;
            if (_count != count)
                _count = 0;
        }

        public void Keep(ReadOnlySpan<byte> read)
        {
            if (read.Length >= WitnessBytes)
            {
                read[^WitnessBytes..].CopyTo(_bytes);
                _count = WitnessBytes;
                return;
            }
            var keep = Math.Min(_count, WitnessBytes - read.Length);
            _bytes.AsSpan(_count - keep, keep).CopyTo(_bytes);
            read.CopyTo(_bytes.AsSpan(keep));
            _count = keep + read.Length;
        }

        public bool StillThere(SafeFileHandle handle, long offset)
        {
            if (_count == 0 || offset < _count)
                return true;
            Span<byte> now = stackalloc byte[WitnessBytes];
            var read = RandomAccess.Read(handle, now[.._count], offset - _count);
            return read == _count && now[.._count].SequenceEqual(_bytes.AsSpan(0, _count));
        }
    }
}
