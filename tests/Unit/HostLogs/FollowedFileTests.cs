using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.HostLogs;

/// <summary>
/// A followed file rotated while it is read, on real files: by rename (and the writer still appending to the renamed
/// file for a moment) and by copy-truncate (cut and written again, shorter or longer than before). Every line arrives
/// once, in order.
/// </summary>
public sealed class FollowedFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("hostlogs-rotation-").FullName;
    private readonly string _path;
    private readonly HostLogOptions _options = new() { PollInterval = TimeSpan.FromMilliseconds(20) };

    public FollowedFileTests() => _path = Path.Combine(_directory, "syslog");

    [Fact]
    public async Task Follow_RenamedWhileTheWriterStillAppendsToTheOldFile_EveryLineOnceInOrder()
    {
        Write(_path, 1, 50);
        await using var reader = Reader.Start(new FollowedFile(_path, _options, TimeProvider.System), FilePoint.StartOfCurrent);
        await Eventually.True(() => reader.Count >= 50, "the first 50 lines");

        File.Move(_path, FileHistory.RotatedPath(_path));
        Write(FileHistory.RotatedPath(_path), 51, 60);
        Write(_path, 61, 100);

        await Eventually.True(() => reader.Count >= 100, "all 100 lines");
        Assert.Equal(Numbers(1, 100), reader.Lines);
    }

    [Fact]
    public async Task Follow_RenamedBeforeTheOldFileWasReadToTheEnd_ReadsTheOldFileFirst()
    {
        Write(_path, 1, 1);
        await using var reader = Reader.Start(new FollowedFile(_path, _options, TimeProvider.System), FilePoint.StartOfCurrent);
        await Eventually.True(() => reader.Count >= 1, "the first line");

        Write(_path, 2, 80);
        File.Move(_path, FileHistory.RotatedPath(_path));
        Write(_path, 81, 120);

        await Eventually.True(() => reader.Count >= 120, "all 120 lines");
        Assert.Equal(Numbers(1, 120), reader.Lines);
    }

    [Theory]
    [InlineData(55)]
    [InlineData(300)]
    public async Task Follow_CopyTruncate_NewContentShorterOrLongerThanTheOld_EveryLineOnce(int last)
    {
        Write(_path, 1, 50);
        await using var reader = Reader.Start(new FollowedFile(_path, _options, TimeProvider.System), FilePoint.StartOfCurrent);
        await Eventually.True(() => reader.Count >= 50, "the first 50 lines");

        // logrotate's copytruncate, then the writer carries on in the same file: the new content may pass the old
        // length before the reader looks again.
        File.Copy(_path, FileHistory.RotatedPath(_path));
        using (var truncate = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            truncate.SetLength(0);
        Write(_path, 51, last);

        await Eventually.True(() => reader.Count >= last, $"all {last} lines");
        Assert.Equal(Numbers(1, last), reader.Lines);
    }

    [Fact]
    public async Task Follow_PartialLine_IsGivenOnceItsNewlineIsWritten()
    {
        File.WriteAllText(_path, "line 1\nline ");
        await using var reader = Reader.Start(new FollowedFile(_path, _options, TimeProvider.System), FilePoint.StartOfCurrent);
        await Eventually.True(() => reader.Count >= 1, "the complete line");

        File.AppendAllText(_path, "2\n");

        await Eventually.True(() => reader.Count >= 2, "the completed line");
        Assert.Equal(["line 1", "line 2"], reader.Lines);
    }

    [Fact]
    public void Locate_TailLongerThanTheCurrentFile_StartsInTheRotatedOne()
    {
        Write(FileHistory.RotatedPath(_path), 1, 10);
        Write(_path, 11, 15);

        var point = FileHistory.Locate(_path, tail: 8, since: null, LogfmtLine.Instance);

        Assert.True(point.InRotated);
        Assert.Equal(Numbers(8, 15), ReadAll(point));
    }

    [Fact]
    public void Locate_Since_StartsAtTheFirstLineStampedAtOrAfterIt()
    {
        File.WriteAllLines(FileHistory.RotatedPath(_path), [Stamped(1), Stamped(2)]);
        File.WriteAllLines(_path, [Stamped(3), "continuation of 3", Stamped(4), Stamped(5)]);

        var fromTwo = FileHistory.Locate(_path, tail: null, since: LogTimestamp.FromDateTimeOffset(At(2)), LogfmtLine.Instance);
        var fromFour = FileHistory.Locate(_path, tail: 10, since: LogTimestamp.FromDateTimeOffset(At(4)), LogfmtLine.Instance);

        Assert.Equal([Stamped(2), Stamped(3), "continuation of 3", Stamped(4), Stamped(5)], ReadAll(fromTwo));
        Assert.Equal([Stamped(4), Stamped(5)], ReadAll(fromFour));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private List<string> ReadAll(FilePoint point)
    {
        var lines = new List<string>();
        var read = new FollowedFile(_path, _options, TimeProvider.System).ReadAsync(point, follow: false, CancellationToken.None).GetAsyncEnumerator();
        while (read.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            lines.Add(read.Current.Text);
        return lines;
    }

    private static DateTimeOffset At(int second) => new(2026, 12, 1, 22, 0, second, TimeSpan.Zero);

    private static string Stamped(int second) => $"time=\"{At(second):yyyy-MM-ddTHH:mm:ss}.000000000Z\" level=info msg=\"line {second}\"";

    private static void Write(string path, int first, int last)
    {
        using var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
        for (var i = first; i <= last; i++)
            writer.Write($"line {i}\n");
    }

    private static List<string> Numbers(int first, int last) => [.. Enumerable.Range(first, last - first + 1).Select(i => $"line {i}")];

    /// <summary>Reads a followed file in the background until disposed.</summary>
    private sealed class Reader : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<string> _lines = [];
        private Task _reading = Task.CompletedTask;

        public int Count { get { lock (_lines) return _lines.Count; } }

        public List<string> Lines { get { lock (_lines) return [.. _lines]; } }

        public static Reader Start(FollowedFile file, FilePoint from)
        {
            var reader = new Reader();
            reader._reading = Task.Run(async () =>
            {
                await foreach (var line in file.ReadAsync(from, follow: true, reader._stop.Token))
                    lock (reader._lines)
                        reader._lines.Add(line.Text);
            });
            return reader;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAny(_reading);
            _stop.Dispose();
        }
    }
}
