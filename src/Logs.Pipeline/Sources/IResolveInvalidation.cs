namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// What tells the <see cref="ResolveCache"/> that a name may now mean another resource: a watch of the host's
/// events (Docker's <c>/events</c>). The cache reuses a resolution only while <see cref="IsWatching"/> says the host
/// is watched, so an event cannot be missed while the watch is down.
/// </summary>
public interface IResolveInvalidation
{
    /// <summary>
    /// Starts watching <paramref name="hostId"/> if it is not watched yet, and says whether it is watched now, with
    /// every invalidation from <paramref name="cache"/>'s point of view delivered from here on.
    /// </summary>
    bool IsWatching(string hostId, ResolveCache cache);
}
