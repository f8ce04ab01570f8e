namespace LogsMigration.Load.Scenarios;

/// <summary>
/// Slow clients: 5 % of the viewers stop reading for a while (a frozen tab) and then read again. The others' latency
/// must not move (compared with the fan-out run at the same N, R, path and format), and the slow ones must be told
/// exactly how many lines they missed (gap markers), with nothing lost silently. The pause must outlast what the
/// kernel holds for a stalled socket (the server's send buffer grows to <c>net.ipv4.tcp_wmem</c>'s 4 MiB here, some
/// 9,000 short-line frames) plus the server's queue, or nothing is ever dropped; slow viewers also use a small fixed
/// receive buffer.
/// </summary>
internal static class SlowClients
{
    public static async Task RunAsync(HarnessContext context, int viewers, int slow, int rate, TimeSpan duration, TimeSpan pause, int padding, IReadOnlyDictionary<string, string> service, Raw.RawServerSettings raw, (Target Target, bool Batch)[] runs, CancellationToken cancellationToken)
    {
        foreach (var (target, batch) in runs)
        {
            var spec = new BroadcastSpec
            {
                Scenario = "slow-clients",
                Variant = $"N={viewers} R={rate} slow={slow}",
                Target = target,
                Batch = batch,
                ViewersPerStream = viewers,
                Rate = rate,
                Lines = (long)(rate * duration.TotalSeconds),
                SlowViewers = slow,
                SlowPause = pause,
                SlowPauseAfterLines = Math.Max(10, rate / 5),
                Padding = padding,
                Service = service,
                RawSettings = raw,
            };
            context.Add(await BroadcastRun.MeasureAsync(context, spec, cancellationToken));
        }
    }
}
