namespace LogsMigration.Load.Infra;

/// <summary>
/// The machine is shared (other test suites may be building or running on its two cores): before a measurement,
/// wait a bounded time for other processes to go quiet, and say afterwards how much CPU they took during it.
/// </summary>
internal static class QuietGate
{
    /// <summary>Other processes may use this much of one core, in percent, and the run still counts as undisturbed.</summary>
    public const double QuietPercent = 25;

    /// <summary>Waits until, over one second, processes other than ours used less than <see cref="QuietPercent"/> of a core, or <paramref name="limit"/> passes; returns their last share.</summary>
    public static async Task<double> WaitAsync(IReadOnlyDictionary<string, int> ours, Func<IReadOnlyList<int>> engine, TimeSpan limit, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        if (limit <= TimeSpan.Zero)
            return -1;
        while (true)
        {
            var window = CpuWindow.Start(ours, engine);
            await Task.Delay(1000, cancellationToken);
            var other = window.Stop()["other"];
            if (other < QuietPercent || DateTime.UtcNow - started > limit)
                return other;
        }
    }
}
