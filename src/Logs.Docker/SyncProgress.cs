namespace LogsMigration.Docker;

/// <summary>
/// Reports on the caller's thread. <see cref="Progress{T}"/> posts each report to the thread pool, which was seen
/// to reorder Docker events (a container's <c>die</c> after a later event).
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
