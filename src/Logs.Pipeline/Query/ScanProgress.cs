using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Query;

/// <summary>How a backward scan stands: still reading, found every line asked for (or the log's beginning), or stopped at a bound.</summary>
public enum ScanState
{
    Scanning,
    Done,
    Capped,
}

/// <summary>A <c>scan_progress</c> report: how far back the scan has looked and how many matching lines it has.</summary>
public readonly record struct ScanProgress(LogTimestamp ScannedBackTo, int Found, ScanState State)
{
    public string StateName => State switch
    {
        ScanState.Scanning => "scanning",
        ScanState.Done => "done",
        _ => "capped",
    };
}
