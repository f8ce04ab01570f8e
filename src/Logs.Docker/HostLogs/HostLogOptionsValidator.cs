using System.Text.RegularExpressions;

namespace LogsMigration.Docker.HostLogs;

/// <summary>The start-up checks of <c>Docker:HostLogs</c> and of each host's <c>SystemLog</c>/<c>DaemonLog</c>, called by <see cref="DockerOptionsValidator"/>.</summary>
internal static partial class HostLogOptionsValidator
{
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromSeconds(10);
    private const int MinLineBytes = 1024;
    private const int MaxLineBytes = 16 * 1024 * 1024;
    private const int MaxReadBackLines = 1_000_000;
    private static readonly TimeSpan MaxOutOfOrderSlack = TimeSpan.FromMinutes(10);

    public static void Validate(HostLogOptions? options, List<string> errors)
    {
        const string prefix = $"{DockerOptions.SectionName}:HostLogs";
        if (options is null)
        {
            errors.Add($"{prefix}: the section has no settings.");
            return;
        }
        if (options.PollInterval < MinPollInterval || options.PollInterval > MaxPollInterval)
            errors.Add($"{prefix}:PollInterval must be between {MinPollInterval} and {MaxPollInterval} (was {options.PollInterval}).");
        if (options.MaxLineBytes is < MinLineBytes or > MaxLineBytes)
            errors.Add($"{prefix}:MaxLineBytes must be between {MinLineBytes} and {MaxLineBytes} (was {options.MaxLineBytes}).");
        if (options.ReaderReadBackLines is < 1 or > MaxReadBackLines)
            errors.Add($"{prefix}:ReaderReadBackLines must be between 1 and {MaxReadBackLines} (was {options.ReaderReadBackLines}).");
        if (options.OutOfOrderSlack < TimeSpan.Zero || options.OutOfOrderSlack > MaxOutOfOrderSlack)
            errors.Add($"{prefix}:OutOfOrderSlack must be between 00:00:00 and {MaxOutOfOrderSlack} (was {options.OutOfOrderSlack}).");
        if (string.IsNullOrWhiteSpace(options.JournalctlPath))
            errors.Add($"{prefix}:JournalctlPath must name the journalctl program.");
        if (string.IsNullOrWhiteSpace(options.ReaderImage))
            errors.Add($"{prefix}:ReaderImage must name an image.");
        if (options.ReaderOwner is { } owner && (owner.Length > 128 || owner.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
            errors.Add($"{prefix}:ReaderOwner must be at most 128 characters without spaces or control characters (was '{owner}').");
        ValidatePaths($"{prefix}:JournalDirectories", options.JournalDirectories, errors);
        ValidatePaths($"{prefix}:SystemLogFiles", options.SystemLogFiles, errors);
        ValidatePaths($"{prefix}:DaemonLogFiles", options.DaemonLogFiles, errors);
        if (options.DaemonUnit is { } unit && !UnitPattern().IsMatch(unit))
            errors.Add($"{prefix}:DaemonUnit '{unit}' is not a systemd unit name.");
    }

    public static void ValidateLocation(string prefix, HostLogLocation? location, List<string> errors)
    {
        if (location is null)
            return;
        var set = new[] { location.JournalDirectory, location.JournalFile, location.File }.Count(p => p is not null);
        if (set != 1)
            errors.Add($"{prefix}: set exactly one of JournalDirectory, JournalFile and File (found {set}).");
        foreach (var (name, path) in new[] { ("JournalDirectory", location.JournalDirectory), ("JournalFile", location.JournalFile), ("File", location.File) })
        {
            if (path is not null && !IsAbsolute(path))
                errors.Add($"{prefix}:{name} '{path}' must be an absolute path.");
        }
        if (location.Unit is { } unit && (location.File is not null || !UnitPattern().IsMatch(unit)))
            errors.Add($"{prefix}:Unit '{unit}' must be a systemd unit name, and applies to a journal only.");
        if (location.ReaderImage is { } image && (string.IsNullOrWhiteSpace(image) || location.Access != HostLogAccess.Container))
            errors.Add($"{prefix}:ReaderImage applies to Access=Container only and must name an image.");
        if (!Enum.IsDefined(location.Access))
            errors.Add($"{prefix}:Access must be Local or Container.");
    }

    private static void ValidatePaths(string setting, string[]? paths, List<string> errors)
    {
        foreach (var path in paths ?? [])
        {
            if (!IsAbsolute(path))
                errors.Add($"{setting}: '{path}' must be an absolute path.");
        }
    }

    private static bool IsAbsolute(string path) => path.Length > 1 && path[0] == '/' && !path.Contains('\n') && !path.Contains(':');

    [GeneratedRegex("^[A-Za-z0-9:_.@\\\\-]{1,255}$")]
    private static partial Regex UnitPattern();
}
