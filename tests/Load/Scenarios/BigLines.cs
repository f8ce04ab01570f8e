namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Memory bounded in bytes (issue 10): one container writes lines of about 64 KiB, two viewers keep up and one reads
/// slowly but never stops (it waits after every frame, so it is never closed as stalled). Bounded in lines only, its
/// queue of 2,048 lines once pinned some 700 MiB; bounded in bytes, the service's RSS must stay within what the
/// options allow (the replay buffer and one queue bound per viewer) plus an allowance for the runtime, and the slow
/// viewer must be told exactly how many lines it missed.
/// </summary>
internal static class BigLines
{
    /// <summary>The writer's padding repeated 964 times: lines of 65,551 bytes.</summary>
    public const int Padding = 964;

    /// <summary>
    /// What the runtime may add beyond the buffers: every 64 KiB line is allocated several times on its way (the read
    /// buffer, the text, the frame) on the large object heap, which is only collected with gen 2, so the heap runs well
    /// above what is live. Fixed here, before the measurement, not fitted to it.
    /// </summary>
    public const long AllowanceBytes = 128L * 1024 * 1024;

    public static async Task RunAsync(HarnessContext context, int viewers, int rate, TimeSpan duration, TimeSpan readDelay, CancellationToken cancellationToken)
    {
        const long replayBytes = 8L * 1024 * 1024;
        const long queueBytes = 8L * 1024 * 1024;
        // The defaults, stated so the bound below is computed from the same numbers the service runs with.
        var service = new Dictionary<string, string>
        {
            ["Pipeline__ReplayBytes"] = replayBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Pipeline__SubscriberQueueBytes"] = queueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var spec = new BroadcastSpec
        {
            Scenario = "big-lines",
            Variant = $"N={viewers} R={rate} 64KiB slow=1 reading every {readDelay.TotalMilliseconds:0} ms",
            Target = Target.Unified,
            Batch = false,
            ViewersPerStream = viewers,
            Rate = rate,
            Lines = (long)(rate * duration.TotalSeconds),
            SlowViewers = 1,
            SlowReadDelay = readDelay,
            Padding = Padding,
            Service = service,
        };
        var result = await BroadcastRun.MeasureAsync(context, spec, cancellationToken);
        var bound = replayBytes + viewers * queueBytes;
        var growth = (result.ServiceRssPeakMiB - result.ServiceRssAttachedMiB) * 1048576;
        result.Extra["rss_bound_mib"] = BroadcastRun.MiB(bound);
        result.Extra["rss_allowance_mib"] = BroadcastRun.MiB(AllowanceBytes);
        result.Extra["rss_growth_mib"] = Math.Round(growth / 1048576, 1);
        if (result.Error is null && growth > bound + AllowanceBytes)
            result.Failures.Add($"the service's RSS grew by {growth / 1048576:0} MiB, more than its buffer bound ({bound / 1048576} MiB) plus {AllowanceBytes / 1048576} MiB");
        // The service's own count: each queue may pass its bound by one line (the newest is always kept).
        var oneLine = 400L * 1024;
        if (result.Extra.GetValueOrDefault("buffered_mib_max") * 1048576 > bound + viewers * oneLine)
            result.Failures.Add($"the service counted {result.Extra["buffered_mib_max"]:0.#} MiB buffered, more than its bound of {bound / 1048576} MiB");
        if (result.Viewers - result.SlowViewers - result.ViewersKeptUp is > 0 and var fellBehind)
            result.Notes.Add($"{fellBehind} full-speed viewers fell more than their queue's {queueBytes / 1048576} MiB (about 21 such lines) behind and were told of gaps");
        if (result.GapMarkers == 0)
            result.Notes.Add("the slow viewer was never told of a gap: it kept up, so nothing here was bounded");
        context.Add(result);
    }
}
