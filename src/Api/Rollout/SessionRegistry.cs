using System.Collections.Concurrent;
using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Rollout;

/// <summary>What a drain closes: the session's own cancellation.</summary>
internal interface IDrainTarget
{
    void Drain();
}

/// <summary>One open log session, as the drain and the admin API see it.</summary>
public sealed class OpenSession
{
    private readonly IDrainTarget _target;
    private ITimer? _drainTimer;

    internal OpenSession(LogSourceType sourceType, LogPath path, string userId, IDrainTarget target)
    {
        SourceType = sourceType;
        Path = path;
        UserId = userId;
        _target = target;
    }

    public LogSourceType SourceType { get; }
    public LogPath Path { get; }
    public string UserId { get; }

    /// <summary>Drains this session after <paramref name="delay"/>: closes it so that its client reconnects onto the other path. The timer goes with the session.</summary>
    internal void DrainAfter(TimeSpan delay, TimeProvider time)
    {
        var timer = time.CreateTimer(static state => ((IDrainTarget)state!).Drain(), _target, delay, Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _drainTimer, timer)?.Dispose();
    }

    internal void Close() => Interlocked.Exchange(ref _drainTimer, null)?.Dispose();
}

/// <summary>
/// The open sessions by endpoint and path. A drain closes the sessions whose path is no longer the one their user
/// would get, each at a random moment within the drain window, with close code 1012 so the client reconnects.
/// </summary>
public sealed partial class SessionRegistry(PathSelector selector, IOptions<RolloutOptions> options, TimeProvider time, ILogger<SessionRegistry> logger)
{
    private readonly ConcurrentDictionary<OpenSession, byte> _sessions = new();

    /// <summary>Adds a session; a drain that concerns it calls <paramref name="target"/>.</summary>
    internal OpenSession Register(LogSourceType sourceType, LogPath path, string userId, IDrainTarget target)
    {
        var session = new OpenSession(sourceType, path, userId, target);
        _sessions.TryAdd(session, 0);
        return session;
    }

    public void Unregister(OpenSession session)
    {
        _sessions.TryRemove(session, out _);
        session.Close();
    }

    public int Count(LogSourceType sourceType, LogPath path) => _sessions.Keys.Count(s => s.SourceType == sourceType && s.Path == path);

    /// <summary>Schedules the close of every session of <paramref name="sourceType"/> now on the wrong path; returns how many.</summary>
    public async Task<int> DrainAsync(LogSourceType sourceType, TimeSpan? window, string requestedBy, CancellationToken cancellationToken)
    {
        var spread = window ?? options.Value.DrainWindow;
        var affected = new List<OpenSession>();
        foreach (var session in _sessions.Keys.Where(s => s.SourceType == sourceType))
        {
            if (await selector.SelectAsync(sourceType, session.UserId, cancellationToken) != session.Path)
                affected.Add(session);
        }
        foreach (var session in affected)
        {
            session.DrainAfter(TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * spread.Ticks)), time);
        }
        LogDrainScheduled(logger, affected.Count, sourceType.ToWire(), spread, requestedBy);
        return affected.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain of {Count} {Endpoint} sessions over {Window} requested by user {RequestedBy}.")]
    private static partial void LogDrainScheduled(ILogger logger, int count, string endpoint, TimeSpan window, string requestedBy);
}
