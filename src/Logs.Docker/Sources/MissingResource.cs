using LogsMigration.Pipeline.Sources;

namespace LogsMigration.Docker.Sources;

/// <summary>
/// A resource that Docker says does not exist (any more) is, for a read already under way, the natural end and not
/// a failure: a container or service removed between an inspect and its logs request, or while a restart is awaited.
/// </summary>
internal static class MissingResource
{
    /// <summary>What the call returns, or null when it fails with <see cref="LogSourceErrorKind.NotFound"/>.</summary>
    public static async Task<T?> OrNullAsync<T>(Func<Task<T>> call) where T : class
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (LogSourceException ex) when (ex.Kind == LogSourceErrorKind.NotFound)
        {
            return null;
        }
    }
}
