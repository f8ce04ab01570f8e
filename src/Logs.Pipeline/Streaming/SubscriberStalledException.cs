namespace LogsMigration.Pipeline.Streaming;

/// <summary>The subscriber had lines waiting and took none for the configured stall timeout, so the pipeline closed it.</summary>
public sealed class SubscriberStalledException(TimeSpan stallTimeout)
    : Exception($"The client took no lines for {stallTimeout.TotalSeconds:0.#} s and was disconnected as stalled.")
{
    public TimeSpan StallTimeout { get; } = stallTimeout;
}
