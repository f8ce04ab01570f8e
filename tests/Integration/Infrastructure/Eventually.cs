namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>Waits for a condition with a deadline; never a fixed sleep.</summary>
public static class Eventually
{
    /// <summary>
    /// Only a failing test waits this long, so it is generous: real engines and service processes on a loaded CI
    /// machine (two cores shared with other suites) must never turn a slow pass into a failure.
    /// </summary>
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public static async Task True(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out waiting for: {what}");
            await Task.Delay(PollInterval);
        }
    }

    /// <param name="interval">Between two checks (an HTTP call or a process, say): the default is for cheap ones.</param>
    public static async Task True(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out waiting for: {what}");
            await Task.Delay(interval ?? PollInterval);
        }
    }
}
