using LogsMigration.Docker.HostLogs;
using LogsMigration.Pipeline.Model;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>
/// The container access mode on the second engine: a reader container there (busybox <c>tail -F</c>) reads a daemon
/// log bind-mounted read-only from the test's folder. The lines are those this process reads from the same file
/// itself, and the reader is gone once the last viewer left.
/// </summary>
public sealed class ReaderContainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lmit-reader-").FullName;

    [Fact]
    public async Task ContainerAccess_SameLinesAsLocal_AndTheReaderIsRemovedAfterTheLastViewer()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 30);
        await using var remote = new HostLogHarness(output, TestEngines.Second, endpoint,
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:Access", "Container"),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:ReaderImage", DockerCli.Image));
        await using var local = new HostLogHarness(output, TestEngines.Second, endpoint, ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile));

        var throughContainer = await remote.SubscribeAsync(LogSourceType.Daemon, tail: 100);
        var direct = await local.SubscribeAsync(LogSourceType.Daemon, tail: 100);
        await Eventually.True(() => throughContainer.Entries.Count >= 30, "the history through the reader container");
        Assert.Single(await ReadersAsync(endpoint));
        Append(logFile, 31, 45);
        await Eventually.True(() => throughContainer.Entries.Count >= 45 && direct.Entries.Count >= 45, "the appended lines on both");

        Assert.Equal([.. Enumerable.Range(1, 45).Select(i => $"line {i}")], throughContainer.Texts);
        Assert.Equal(direct.Entries.Select(e => (e.Text, e.Timestamp, e.Record.Level)), throughContainer.Entries.Select(e => (e.Text, e.Timestamp, e.Record.Level)));
        Assert.Equal(LogSeverity.Warning, throughContainer.Entries[2].Record.Level);

        await remote.LeaveAsync(throughContainer);
        await Eventually.True(async () => (await ReadersAsync(endpoint)).Length == 0, "the reader container to be removed");
    }

    /// <summary>
    /// A writer appends numbered lines at a steady rate and the log is rotated twice mid-stream: by rename while the
    /// writer keeps writing to the renamed file a while (as dockerd does until it reopens), or by copy-truncate. Every
    /// number arrives once, in order, through the reader container, or a gap marker says where lines are missing.
    /// <c>padded</c>: each line ends in 300 bytes of punctuation (a long constant field), so the bytes just before the
    /// reader's position look alike in every file; a witness of 32 bytes mapped to letters and digits took the regrown
    /// file for the one it had read, read on from its old offset, and lost the new file's first lines.
    /// </summary>
    [Theory]
    [InlineData("rename", 0)]
    [InlineData("copytruncate", 0)]
    [InlineData("copytruncate", 300)]
    public async Task ContainerAccess_RotatedMidStream_EveryLineOnceOrAGapMarker(string rotation, int padded)
    {
        const int Last = 1200;
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 20, padded);
        await using var remote = new HostLogHarness(output, TestEngines.Second, endpoint,
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:Access", "Container"),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:ReaderImage", DockerCli.Image));
        var viewer = await remote.SubscribeAsync(LogSourceType.Daemon, tail: 1000);
        await Eventually.True(() => viewer.Entries.Count >= 20, "the history through the reader container");

        await new RotatingWriter(logFile, rotation, padded).WriteAsync(21, Last, rotateAfter: padded > 0 ? [200, 450, 700, 950] : [200, 700]);

        try
        {
            await Eventually.True(() => viewer.Texts.Contains(Text(Last, padded)), "the last line through the reader container");
        }
        finally
        {
            // What came, so a run that misses the last line says where it stopped.
            var texts = viewer.Texts;
            var missing = Enumerable.Range(1, Last).Select(i => Text(i, padded)).Except(texts).ToList();
            output.WriteLine($"{texts.Count} lines (last: {texts.LastOrDefault()}), {missing.Count} missing (first: {missing.FirstOrDefault()}, last: {missing.LastOrDefault()}), gaps: {string.Join(" | ", viewer.Gaps)}");
            if (missing.Count > 0)
            {
                // Whether the reader still runs and what it is doing (its output goes only to the attach stream, so
                // `docker logs` has none): a stalled script, or a stream that stopped.
                var readers = await DockerCli.TryRunAsync(endpoint, "ps", "-a", "--no-trunc", "--filter", $"label={ReaderContainer.RunLabel}={ReaderContainer.Run}",
                    "--format", "{{.ID}} {{.Status}}");
                output.WriteLine($"readers: {readers.Output.Trim()}");
                foreach (var reader in readers.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    output.WriteLine($"its processes: {(await DockerCli.TryRunAsync(endpoint, "top", reader.Split(' ')[0])).Output.Trim()}");
            }
        }
        Assert.Equal([.. Enumerable.Range(1, Last).Select(i => Text(i, padded))], viewer.Texts);
        Assert.Empty(viewer.Gaps);
    }

    /// <summary>
    /// A reader that finishes (a history read, or any reader whose command ends) while its consumer is slower than its
    /// output: every line still arrives, and the read ends normally. The reader's attach stream is its only output, so a
    /// slow consumer holds dockerd's copy of it back; dockerd closes an exited container's streams two seconds after
    /// the exit, and a reader that simply exited lost what was still unsent, silently. It now says its end in a trailer
    /// and waits to be removed.
    /// </summary>
    [Fact]
    public async Task ReaderThatEnds_WhileItsConsumerIsSlow_EveryLineArrives()
    {
        const int Lines = 200_000;
        using var hosts = TestEngines.Hosts(TestEngines.Second);
        var owner = $"it-{Guid.NewGuid():N}";
        var read = ReaderContainer.ReadLinesAsync(hosts.GetClient(TestEngines.Second), TestEngines.Second, owner, DockerCli.Image,
            ["seq", "1", Lines.ToString(System.Globalization.CultureInfo.InvariantCulture)], [_directory], "test", 64 * 1024, follow: false, onStarted: null,
            CancellationToken.None);
        var count = 0;
        var last = "";
        await foreach (var line in read)
        {
            // Held past dockerd's two seconds while the reader, its output far larger than the pipes, has long exited.
            if (++count == 1)
                await Task.Delay(TimeSpan.FromSeconds(5));
            last = line.Text;
        }

        Assert.Equal((Lines, Lines.ToString(System.Globalization.CultureInfo.InvariantCulture)), (count, last));
        Assert.Empty(await ReadersAsync(TestEngines.Endpoint(TestEngines.Second), "--filter", $"label={ReaderContainer.OwnerLabel}={owner}"));
    }

    /// <summary>
    /// The reader's end is its trailer, and only its own: the command's output comes out exactly, whether it ends with
    /// a newline or not, with an empty last line, with nothing, with a line that holds the trailer's bytes (a log can
    /// hold anything), and with a last line longer than the line limit and no newline (the trailer was lost in the cut
    /// line and the read waited for ever).
    /// </summary>
    [Theory]
    [InlineData(@"printf 'a\nb\n'", "a|b")]
    [InlineData(@"printf 'a\nb'", "a|b")]
    [InlineData(@"printf 'a\n\n'", "a|")]
    [InlineData("true", "")]
    [InlineData(@"printf 'a\n\001logsmigration-end 0\nb\n'", "a|\u0001logsmigration-end 0|b")]
    [InlineData("head -c 70000 /dev/zero | tr '\\0' x; printf '\\n'; head -c 70000 /dev/zero | tr '\\0' y", "CUT|CUT")]
    public async Task ReaderOutput_EndsAtItsOwnTrailer_ExactlyWhatTheCommandPrinted(string script, string expected)
    {
        using var hosts = TestEngines.Hosts(TestEngines.Second);
        var lines = new List<string>();
        await foreach (var line in ReaderContainer.ReadLinesAsync(hosts.GetClient(TestEngines.Second), TestEngines.Second, $"it-{Guid.NewGuid():N}", DockerCli.Image,
                           ["sh", "-c", script], [_directory], "test", 64 * 1024, follow: false, onStarted: null, CancellationToken.None)
                           .WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token))
            lines.Add(line.Cut ? "CUT" : line.Text);

        Assert.Equal(expected.Length == 0 ? [] : expected.Split('|'), lines);
    }

    /// <summary>
    /// Two service instances on one machine (behind a proxy, or the load harness's three) read the same host through
    /// reader containers. The second one's start-up cleanup must leave the first one's live reader alone: the owner of a
    /// reader is the instance (<c>Streaming:InstanceId</c>), not the machine.
    /// </summary>
    [Fact]
    public async Task TwoInstancesOnOneMachine_TheSecondStarting_TheFirstsLinesGoOn()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 10);
        Dictionary<string, string> Settings(string instance) => new()
        {
            ["Streaming:InstanceId"] = instance,
            ["Docker:Hosts:local:DaemonLog:File"] = logFile,
            ["Docker:Hosts:local:DaemonLog:Access"] = "Container",
            ["Docker:Hosts:local:DaemonLog:ReaderImage"] = DockerCli.Image,
            ["Docker:HostLogs:PollInterval"] = "00:00:00.050",
        };
        await using var first = await ServiceProcess.StartOnAsync(endpoint, Settings($"it-first-{Guid.NewGuid():N}"));
        using var socket = await first.ConnectAsync("/ws/daemon/local/logs?tail=100");
        var history = await WsFrames.LogsAsync(socket, 10);
        Assert.Equal("line 10", history[^1].GetProperty("message").GetString());

        await using var second = await ServiceProcess.StartOnAsync(endpoint, Settings($"it-second-{Guid.NewGuid():N}"));
        // Its start-up cleanup runs in the background: once a viewer of its own has its history, the start-up is
        // well past the cleanup's look at the host's readers.
        using var other = await second.ConnectAsync("/ws/daemon/local/logs?tail=100");
        Assert.Equal(10, (await WsFrames.LogsAsync(other, 10)).Count);
        Append(logFile, 11, 20);

        var live = await WsFrames.LogsAsync(socket, 10);
        Assert.Equal([.. Enumerable.Range(11, 10).Select(i => $"line {i}")], live.Select(f => f.GetProperty("message").GetString()));
        Assert.Equal(10, (await WsFrames.LogsAsync(other, 10)).Count);
    }

    /// <summary>
    /// A viewer joins (tail=N) while a writer is busy appending, then a burst of over 1 MiB comes at once: the history's
    /// last line and the live ones join without a line lost or cut (the history was read with a buffered head on the
    /// followed descriptor, which skipped what it read past its count), and the burst comes whole through bounded reads.
    /// </summary>
    [Fact]
    public async Task BusyFile_TailStartAndABurst_NoLineLostOrCut()
    {
        const int Steady = 1500;
        const int Burst = 16_000;
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 100);
        await using var remote = new HostLogHarness(output, TestEngines.Second, endpoint,
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:Access", "Container"),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:ReaderImage", DockerCli.Image),
            // Room for the whole burst in the viewer's queue: on a busy machine the test's reader may fall behind it, and
            // the pipeline then drops its oldest lines with a gap marker (correct, but not what this test is about).
            ("Pipeline:SubscriberQueueEntries", "32768"));
        var writing = new RotatingWriter(logFile, "none").WriteAsync(101, Steady, rotateAfter: []);
        var viewer = await remote.SubscribeAsync(LogSourceType.Daemon, tail: 5);
        await writing;
        Append(logFile, Steady + 1, Steady + Burst);

        await Eventually.True(() => viewer.Texts.Contains($"line {Steady + Burst}"), "the burst's last line", TimeSpan.FromSeconds(120));
        Assert.Empty(viewer.Gaps);
        var texts = viewer.Texts;
        var first = int.Parse(texts[0]["line ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([.. Enumerable.Range(first, Steady + Burst - first + 1).Select(i => $"line {i}")], texts);
    }

    /// <summary>
    /// The reader container is killed mid-stream (an operator, another process's cleanup, an OOM kill): the stream says
    /// the source stopped, starts a new reader and goes on where it stopped, nothing lost or repeated.
    /// </summary>
    [Fact]
    public async Task ReaderKilledMidStream_RetryNotice_ThenTheLinesGoOnFromWhereTheyStopped()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var logFile = Path.Combine(_directory, "dockerd.log");
        Append(logFile, 1, 10);
        await using var remote = new HostLogHarness(output, TestEngines.Second, endpoint,
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:File", logFile),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:Access", "Container"),
            ($"Docker:Hosts:{TestEngines.Second}:DaemonLog:ReaderImage", DockerCli.Image));
        var viewer = await remote.SubscribeAsync(LogSourceType.Daemon, tail: 100);
        await Eventually.True(() => viewer.Entries.Count >= 10, "the history through the reader container");
        // The history is read by one reader (tail -n, gone once done), the live lines by the follower that comes after it.
        string[] running = [];
        await Eventually.True(async () => (running = await ReadersAsync(endpoint, "--filter", "status=running")).Length == 1, "the following reader to run");

        await DockerCli.RunAsync(endpoint, "kill", running[0]);
        await Eventually.True(() => viewer.Has(StreamNoticeKind.UpstreamRetrying), "the retry notice after the reader was killed");
        Append(logFile, 11, 20);

        await Eventually.True(() => viewer.Texts.Contains("line 20"), "the lines after the kill through a new reader");
        Assert.Equal([.. Enumerable.Range(1, 20).Select(i => $"line {i}")], viewer.Texts);
        Assert.Empty(viewer.Gaps);
    }

    [Fact]
    public async Task StartupCleanup_RemovesReadersOfAnEarlierRun_NotThoseOfThisOne()
    {
        var endpoint = TestEngines.Endpoint(TestEngines.Second);
        var name = DockerCli.UniqueName("stale-reader");
        var owner = $"it-owner-{Guid.NewGuid():N}";
        await DockerCli.RunAsync(endpoint, "create", "--name", name, "--label", $"{ReaderContainer.OwnerLabel}={owner}",
            "--label", $"{ReaderContainer.RunLabel}=an-earlier-run", DockerCli.Image, "sleep", "1");
        var hosts = TestEngines.Hosts(TestEngines.Second);

        var removed = await ReaderContainerCleanup.RemoveStaleAsync(hosts, TestEngines.Second, owner, CancellationToken.None);

        Assert.True(removed >= 1);
        var left = await DockerCli.TryRunAsync(endpoint, "inspect", name);
        Assert.NotEqual(0, left.ExitCode);
        hosts.Dispose();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<string[]> ReadersAsync(string endpoint, params string[] filters) =>
        (await DockerCli.RunAsync(endpoint, ["ps", "-aq", "--filter", $"label={ReaderContainer.RunLabel}={ReaderContainer.Run}", .. filters]))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Line(int i) => Line(i, padded: 0);

    /// <param name="padded">Bytes of a constant field ending the line (punctuation only), or none.</param>
    private static string Line(int i, int padded)
    {
        var start = new DateTimeOffset(2026, 12, 1, 22, 0, 0, TimeSpan.Zero);
        return $"time=\"{start.AddTicks(i * 10):yyyy-MM-ddTHH:mm:ss.fffffff}00Z\" level={(i % 3 == 0 ? "warning" : "info")} msg=\"line {i}\"{Pad(padded)}\n";
    }

    /// <summary>
    /// Writes one line every few milliseconds. A rename rotation leaves the writer on the renamed file for ten more
    /// lines before it reopens the name (the lines a reader that switches at once would lose); a copy-truncate copies
    /// to <c>FILE.1</c>, cuts the file between two lines and at once writes more lines than the file held (a burst, as
    /// after a busy writer's reopen), so the new file is past the reader's position before its next poll: a reader
    /// that reads on from its offset then gets the new file's bytes from there, not its start.
    /// </summary>
    private sealed class RotatingWriter(string path, string rotation, int padded = 0)
    {
        private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(3);

        public async Task WriteAsync(int first, int last, int[] rotateAfter)
        {
            var rotated = FileHistory.RotatedPath(path);
            var reopenAt = -1;
            var inFile = first - 1;
            var stream = Open();
            try
            {
                for (var i = first; i <= last; i++)
                {
                    if (i == reopenAt)
                    {
                        await stream.DisposeAsync();
                        stream = Open();
                    }
                    await WriteLinesAsync(stream, i, i);
                    inFile++;
                    if (rotateAfter.Contains(i))
                    {
                        if (rotation == "rename")
                        {
                            File.Move(path, rotated, overwrite: true);
                            reopenAt = i + 11;
                        }
                        else
                        {
                            File.Copy(path, rotated, overwrite: true);
                            await stream.DisposeAsync();
                            using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                                truncate.SetLength(0);
                            stream = Open();
                            var burstEnd = Math.Min(last, i + inFile + 10);
                            await WriteLinesAsync(stream, i + 1, burstEnd);
                            inFile = burstEnd - i;
                            i = burstEnd;
                        }
                    }
                    // The pace of a steady writer, not a wait for anything.
                    await Task.Delay(Pace);
                }
            }
            finally
            {
                await stream.DisposeAsync();
            }
        }

        private async Task WriteLinesAsync(FileStream stream, int first, int last)
        {
            var text = string.Concat(Enumerable.Range(first, last - first + 1).Select(i => Line(i, padded)));
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
            await stream.FlushAsync();
        }

        private FileStream Open() => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>The text the viewer shows for line <paramref name="i"/>: the message, then the line's other fields.</summary>
    private static string Text(int i, int padded) => $"line {i}{Pad(padded)}";

    private static string Pad(int padded) => padded > 0 ? $" pad=\"{new string('-', padded)}\"" : "";

    private static void Append(string path, int first, int last, int padded = 0)
    {
        using var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite));
        for (var i = first; i <= last; i++)
            writer.Write(Line(i, padded));
    }
}
