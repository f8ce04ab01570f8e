using System.Collections.Concurrent;
using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Rollout;

/// <summary>What a drain closes: the session's own cancellation.</summary>
internal interface IDrainTarget
{
    /// <summary>Close the session so that its client reconnects (1012).</summary>
    void Drain(DrainCause cause);

    /// <summary>The registry now knows the session: the server's stop reaches it as a drain from here on.</summary>
    void Registered();
}

/// <summary>Why sessions are drained: a rollout moves them to the other path, or the server is stopping.</summary>
internal enum DrainCause
{
    Rollout,
    Shutdown,
}

/// <summary>One open log session, as the drain and the admin API see it.</summary>
public sealed class OpenSession
{
    private readonly IDrainTarget _target;
    private ITimer? _drainTimer;

    internal OpenSession(LogSourceType sourceType, LogPath path, string userId, IDrainTarget target, bool feed = false)
    {
        Feed = feed;
        SourceType = sourceType;
        Path = path;
        UserId = userId;
        _target = target;
    }

    public LogSourceType SourceType { get; }
    public LogPath Path { get; }
    public string UserId { get; }

    /// <summary>Not a log session but a feed (the events WebSocket): no rollout moves it, only the server's shutdown drains it.</summary>
    public bool Feed { get; }

    /// <summary>Drains this session after <paramref name="delay"/>: closes it so that its client reconnects (onto the other path, or another instance). The timer goes with the session.</summary>
    internal void DrainAfter(TimeSpan delay, DrainCause cause, TimeProvider time)
    {
        var timer = time.CreateTimer(cause == DrainCause.Shutdown ? DrainForShutdown : DrainForRollout, _target, delay, Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _drainTimer, timer)?.Dispose();
    }

    private static readonly TimerCallback DrainForRollout = static state => ((IDrainTarget)state!).Drain(DrainCause.Rollout);
    private static readonly TimerCallback DrainForShutdown = static state => ((IDrainTarget)state!).Drain(DrainCause.Shutdown);

    internal void Close() => Interlocked.Exchange(ref _drainTimer, null)?.Dispose();
}

/// <summary>
/// The open sessions by endpoint and path. A drain closes the sessions whose path is no longer the one their user
/// would get, each at a random moment within the drain window, with close code 1012 so the client reconnects; the
/// server's shutdown drains every session the same way over its own window.
/// </summary>
public sealed partial class SessionRegistry(PathSelector selector, IOptions<RolloutOptions> options, TimeProvider time, ILogger<SessionRegistry> logger)
{
    private readonly ConcurrentDictionary<OpenSession, byte> _sessions = new();
    private int _shuttingDown;

    /// <summary>Adds a session; a drain that concerns it calls <paramref name="target"/>.</summary>
    internal OpenSession Register(LogSourceType sourceType, LogPath path, string userId, IDrainTarget target) =>
        Add(new OpenSession(sourceType, path, userId, target), target);

    /// <summary>
    /// Adds a feed session (the events WebSocket of a host): the server's shutdown drains it like a log session (spread
    /// over the window, <c>disconnected</c> with <c>reconnect: true</c>, 1012); rollouts and the counts leave it alone.
    /// </summary>
    internal OpenSession RegisterFeed(string userId, IDrainTarget target) =>
        Add(new OpenSession(LogSourceType.Host, LogPath.Unified, userId, target, feed: true), target);

    private OpenSession Add(OpenSession session, IDrainTarget target)
    {
        target.Registered();
        _sessions.TryAdd(session, 0);
        // A session that registers while the shutdown drain walks the sessions may be missed by the walk: the flag is
        // read after the add (both sides fence), so one of the two always drains it.
        if (Interlocked.CompareExchange(ref _shuttingDown, 0, 0) != 0)
            session.DrainAfter(TimeSpan.Zero, DrainCause.Shutdown, time);
        return session;
    }

    public void Unregister(OpenSession session)
    {
        _sessions.TryRemove(session, out _);
        session.Close();
    }

    public int Count(LogSourceType sourceType, LogPath path) => _sessions.Keys.Count(s => !s.Feed && s.SourceType == sourceType && s.Path == path);

    /// <summary>Schedules the close of every session of <paramref name="sourceType"/> now on the wrong path; returns how many.</summary>
    public async Task<int> DrainAsync(LogSourceType sourceType, TimeSpan? window, string requestedBy, CancellationToken cancellationToken)
    {
        var spread = window ?? options.Value.DrainWindow;
        var affected = new List<OpenSession>();
        foreach (var session in _sessions.Keys.Where(s => !s.Feed && s.SourceType == sourceType))
        {
            if (await selector.SelectAsync(sourceType, session.UserId, cancellationToken) != session.Path)
                affected.Add(session);
        }
        foreach (var session in affected)
            session.DrainAfter(RandomWithin(spread), DrainCause.Rollout, time);
        LogDrainScheduled(logger, affected.Count, sourceType.ToWire(), spread, requestedBy);
        return affected.Count;
    }

    /// <summary>
    /// The server is stopping: schedules the close of every session (<c>disconnected</c> with <c>reconnect: true</c>,
    /// 1012) at a random moment within <paramref name="window"/>, and of every session that registers from now on at once.
    /// </summary>
    public int DrainAllForShutdown(TimeSpan window)
    {
        if (Interlocked.Exchange(ref _shuttingDown, 1) != 0)
            return 0;
        var count = 0;
        foreach (var session in _sessions.Keys)
        {
            session.DrainAfter(RandomWithin(window), DrainCause.Shutdown, time);
            count++;
        }
        LogShutdownDrainScheduled(logger, count, window);
        return count;
    }

    private static TimeSpan RandomWithin(TimeSpan window) => TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * window.Ticks));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain of {Count} {Endpoint} sessions over {Window} requested by user {RequestedBy}.")]
    private static partial void LogDrainScheduled(ILogger logger, int count, string endpoint, TimeSpan window, string requestedBy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server stopping: drain of {Count} log sessions over {Window}.")]
    private static partial void LogShutdownDrainScheduled(ILogger logger, int count, TimeSpan window);
}
