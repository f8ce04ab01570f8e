using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline.Query;

/// <summary>
/// Every limit of the query side (filters, the backward scan for filtered history, time ranges, downloads). Bound from
/// the <c>Query</c> configuration section and validated at start-up.
/// </summary>
public sealed class QueryOptions
{
    public const string SectionName = "Query";

    /// <summary>Longest <c>filter</c> or <c>exclude</c> pattern, in characters. Default 512.</summary>
    public int MaxPatternLength { get; set; } = 512;

    /// <summary>
    /// How long one match of a user's pattern may take. Patterns run with <c>RegexOptions.NonBacktracking</c> (linear in
    /// the line's length), so this is a second fence only; a line whose match times out counts as not matching. Default 100 ms.
    /// </summary>
    public TimeSpan MatchTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The first (newest) window a filtered <c>tail</c> reads from Docker when the replay buffer holds too few matching lines; each next window is twice as long. Default 1 min.</summary>
    public TimeSpan ScanInitialWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Windows (Docker reads) one backward scan makes at most before it stops as <c>capped</c>. Default 20 (with the default first window, about two years back).</summary>
    public int ScanMaxWindows { get; set; } = 20;

    /// <summary>Lines one backward scan reads from Docker at most (matching or not) before it stops as <c>capped</c>. Default 1,000,000.</summary>
    public long ScanMaxLines { get; set; } = 1_000_000;

    /// <summary>
    /// Lines a followed time range reads from Docker for the part of the range older than the replay buffer, held for
    /// the client before its live lines; beyond it the client gets a gap marker. Default 100,000.
    /// </summary>
    public int RangeReadEntries { get; set; } = 100_000;

    /// <summary>
    /// Lines one read of a service's time window (a scan window, a range's older part) reads past the window's end at
    /// most while a replica it knows of has not passed the end yet (Docker has no <c>until</c> for services); then the
    /// read stops with a <c>source_incomplete</c> marker. The backward scan's first read (where the log begins) goes on
    /// at most as many lines waiting for such a replica's first line. Default 100,000.
    /// </summary>
    public long WindowReadPastLines { get; set; } = 100_000;

    /// <summary>
    /// Bytes (<see cref="Model.LogEntry.ApproximateSize"/>) one backward scan or one range read holds for its client
    /// before the client is served. These reads are per client and outside <c>Pipeline:TotalBufferBytes</c>, so each
    /// is bounded here: a scan stops as <c>capped</c> with the newest lines that fit, a range read gives the rest up
    /// with a gap marker. Default 16 MiB.
    /// </summary>
    public long ReadMaxBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// <c>matches</c> spans one <c>log</c> frame carries at most; a line with more says so with <c>matches_truncated</c>.
    /// Default 64.
    /// </summary>
    public int MaxMatchesPerLine { get; set; } = 64;

    /// <summary>Lines one download sends at most; the response then says it was cut. Default 1,000,000.</summary>
    public long DownloadMaxLines { get; set; } = 1_000_000;

    /// <summary>Bytes (before compression) one download sends at most; the response then says it was cut. Default 256 MiB.</summary>
    public long DownloadMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long a download waits for its first matching line before it answers 200 anyway (headers sent; a later error
    /// is the file's last line, as a cut is). Until then a failing read gets its own status and JSON error. Default 5 s.
    /// </summary>
    public TimeSpan DownloadFirstByteTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Downloads one instance runs at once; one more is refused with 429 <c>too_many_downloads</c>. Default 16.</summary>
    public int MaxConcurrentDownloads { get; set; } = 16;

    /// <summary>Downloads one user (the token's <c>sub</c>) runs at once on one instance; one more is refused with 429 <c>too_many_downloads</c>. Default 4.</summary>
    public int MaxConcurrentDownloadsPerUser { get; set; } = 4;

    public sealed class Validator : IValidateOptions<QueryOptions>
    {
        public ValidateOptionsResult Validate(string? name, QueryOptions o)
        {
            var errors = new List<string>();
            if (o.MaxPatternLength is < 1 or > 65536)
                errors.Add($"Query:MaxPatternLength must be from 1 to 65536 (was {o.MaxPatternLength}).");
            if (o.MatchTimeout <= TimeSpan.Zero || o.MatchTimeout > TimeSpan.FromSeconds(10))
                errors.Add($"Query:MatchTimeout must be more than 0 and at most 10 s (was {o.MatchTimeout}).");
            if (o.ScanInitialWindow < TimeSpan.FromSeconds(1) || o.ScanInitialWindow > TimeSpan.FromDays(30))
                errors.Add($"Query:ScanInitialWindow must be from 1 s to 30 days (was {o.ScanInitialWindow}).");
            if (o.ScanMaxWindows is < 1 or > 64)
                errors.Add($"Query:ScanMaxWindows must be from 1 to 64 (was {o.ScanMaxWindows}).");
            if (o.ScanMaxLines < 1)
                errors.Add($"Query:ScanMaxLines must be at least 1 (was {o.ScanMaxLines}).");
            if (o.RangeReadEntries < 1)
                errors.Add($"Query:RangeReadEntries must be at least 1 (was {o.RangeReadEntries}).");
            if (o.WindowReadPastLines < 1)
                errors.Add($"Query:WindowReadPastLines must be at least 1 (was {o.WindowReadPastLines}).");
            if (o.ReadMaxBytes < 1024)
                errors.Add($"Query:ReadMaxBytes must be at least 1024 (was {o.ReadMaxBytes}).");
            if (o.MaxMatchesPerLine is < 1 or > 65536)
                errors.Add($"Query:MaxMatchesPerLine must be from 1 to 65536 (was {o.MaxMatchesPerLine}).");
            if (o.DownloadMaxLines < 1)
                errors.Add($"Query:DownloadMaxLines must be at least 1 (was {o.DownloadMaxLines}).");
            if (o.DownloadMaxBytes < 1024)
                errors.Add($"Query:DownloadMaxBytes must be at least 1024 (was {o.DownloadMaxBytes}).");
            if (o.DownloadFirstByteTimeout < TimeSpan.FromMilliseconds(100) || o.DownloadFirstByteTimeout > TimeSpan.FromMinutes(5))
                errors.Add($"Query:DownloadFirstByteTimeout must be from 100 ms to 5 min (was {o.DownloadFirstByteTimeout}).");
            if (o.MaxConcurrentDownloads < 1)
                errors.Add($"Query:MaxConcurrentDownloads must be at least 1 (was {o.MaxConcurrentDownloads}).");
            if (o.MaxConcurrentDownloadsPerUser < 1 || o.MaxConcurrentDownloadsPerUser > o.MaxConcurrentDownloads)
                errors.Add($"Query:MaxConcurrentDownloadsPerUser must be from 1 to Query:MaxConcurrentDownloads (was {o.MaxConcurrentDownloadsPerUser}).");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
