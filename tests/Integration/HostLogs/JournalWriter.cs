using System.Diagnostics;
using System.Text;

namespace LogsMigration.Tests.Integration.HostLogs;

/// <summary>One entry of a test journal.</summary>
public sealed record JournalLine(string Message, int Priority, string Unit = "lmit.service", string Identifier = "lmit", int Pid = 4242, string Hostname = "lmit-box")
{
    /// <summary>Microseconds since the epoch; null: now (each entry a microsecond after the one before).</summary>
    public long? RealtimeMicros { get; init; }
}

/// <summary>
/// Writes a real journal file with Debian's <c>systemd-journal-remote -o FILE.journal -</c> from journal export
/// format (installed by <c>scripts/journal.sh</c>); a later write appends to the same file, which a following
/// journalctl sees. Entries carry this machine's current <c>_BOOT_ID</c>: journalctl follows only the current boot.
/// </summary>
public sealed class JournalWriter(string path)
{
    private static readonly string[] Candidates = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"];
    private static readonly string BootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim().Replace("-", "", StringComparison.Ordinal);
    private long _monotonic = 1_000_000;
    private long _lastRealtime;

    public string Path { get; } = path;

    /// <summary>The realtime stamp (microseconds) each written entry got, in order.</summary>
    public List<long> Written { get; } = [];

    public async Task AppendAsync(params JournalLine[] lines)
    {
        var export = new StringBuilder();
        foreach (var line in lines)
        {
            var realtime = line.RealtimeMicros ?? Math.Max(_lastRealtime + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);
            _lastRealtime = Math.Max(_lastRealtime, realtime);
            Written.Add(realtime);
            export.Append($"__REALTIME_TIMESTAMP={realtime}\n__MONOTONIC_TIMESTAMP={_monotonic++}\n_BOOT_ID={BootId}\n")
                .Append($"MESSAGE={line.Message}\nPRIORITY={line.Priority}\n_SYSTEMD_UNIT={line.Unit}\nSYSLOG_IDENTIFIER={line.Identifier}\n")
                .Append($"_PID={line.Pid}\n_HOSTNAME={line.Hostname}\n\n");
        }
        var program = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("systemd-journal-remote is not installed: run scripts/journal.sh install (scripts/test.sh does).");
        var info = new ProcessStartInfo(program, ["-o", Path, "-"])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.StandardInput.WriteAsync(export.ToString());
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"systemd-journal-remote exited with {process.ExitCode}: {await errors}");
    }
}
