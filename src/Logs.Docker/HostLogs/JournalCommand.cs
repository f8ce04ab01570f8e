using System.Globalization;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// The journalctl arguments for a read. journalctl, not libsystemd's <c>sd_journal</c>: the same command runs here and
/// inside a reader container on a remote host (which has no libsystemd for this process to call), it is a separate
/// process that can be killed when the read ends (<c>sd_journal_wait</c> blocks a thread and has no cancellation), and
/// it needs no native interop. A start maps onto journalctl's own options: <c>-n</c> for a tail, <c>--since</c> (to the
/// microsecond, inclusive like Docker's) for a time, <c>--until</c> for the end of a time range, <c>-f</c> to follow, and <c>--no-tail</c> for everything.
/// </summary>
internal static class JournalCommand
{
    public const string JournalctlSetting = "Docker:HostLogs:JournalctlPath";

    /// <param name="slack">
    /// How far the lines' own times may be from the journal's (dockerd's <c>time=</c>): a time range is widened by it on
    /// both ends and the reader keeps the lines whose own time is in the range. Not with a tail (its count would take
    /// lines outside the range); zero where the journal's time is the line's.
    /// </param>
    public static List<string> Arguments(HostLogLocation location, SourceStart start, TimeSpan slack = default)
    {
        var widen = start.Tail is null ? slack.Ticks * 100 : 0;
        List<string> arguments = ["--output=json", "--no-pager", "--all", "--quiet", $"--output-fields={JournalEntry.OutputFields}"];
        if (location.JournalDirectory is { } directory)
            arguments.Add($"--directory={directory}");
        else if (location.JournalFile is { } file)
            arguments.Add($"--file={file}");
        if (location.Unit is { } unit)
            arguments.Add($"--unit={unit}");
        if (start.Since is { } since)
            arguments.Add($"--since=@{SinceSeconds(new LogTimestamp(since.UnixNanoseconds - widen))}");
        if (start.Until is { } until && !start.Follow)
            arguments.Add($"--until=@{UntilSeconds(new LogTimestamp(until.UnixNanoseconds + widen))}");
        if (start.Tail is { } tail)
            arguments.Add($"--lines={tail.ToString(CultureInfo.InvariantCulture)}");
        else if (start.Since is null && start.Follow)
            arguments.Add("--no-tail");
        if (start.Follow)
            arguments.Add("--follow");
        return arguments;
    }

    /// <summary>Seconds since the epoch to the microsecond, rounded down so the line at <paramref name="since"/> is kept.</summary>
    private static string SinceSeconds(LogTimestamp since)
    {
        var micros = Math.Max(0, since.UnixNanoseconds) / 1_000;
        return string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000_000}.{micros % 1_000_000:D6}");
    }

    /// <summary>
    /// Seconds since the epoch to the microsecond, rounded up so the entries of the microsecond holding
    /// <paramref name="until"/> are read; the reader drops those stamped after it (the nanoseconds below the microsecond).
    /// </summary>
    private static string UntilSeconds(LogTimestamp until)
    {
        var micros = (Math.Max(0, until.UnixNanoseconds) + 999) / 1_000;
        return string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000_000}.{micros % 1_000_000:D6}");
    }

    /// <summary>Whether the location's journal has at least one entry (of its unit): where an unconfigured daemon log is looked for.</summary>
    public static async ValueTask<bool> HasEntriesAsync(HostLogOptions options, HostLogLocation location, CancellationToken cancellationToken)
    {
        var arguments = Arguments(location, SourceStart.History(1));
        try
        {
            await foreach (var _ in LocalProcess.ReadLinesAsync(options.JournalctlPath, JournalctlSetting, arguments, options.MaxLineBytes, null, cancellationToken).ConfigureAwait(false))
                return true;
        }
        catch (LogSourceException ex) when (ex.Kind is LogSourceErrorKind.NotAvailable or LogSourceErrorKind.Failed)
        {
            return false;
        }
        return false;
    }
}
