namespace LogsMigration.Api.Streaming;

/// <summary>Counts open log sessions against <see cref="StreamingOptions.MaxSessions"/>.</summary>
public sealed class SessionLimiter(Microsoft.Extensions.Options.IOptions<StreamingOptions> options)
{
    private int _open;

    public int Open => Volatile.Read(ref _open);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= options.Value.MaxSessions)
            return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _open);
}
