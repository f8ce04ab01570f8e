using System.Collections.Concurrent;
using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline.Sources;

/// <summary>
/// What an id or name resolved to (<see cref="ILogSource.ResolveAsync"/>), reused for <see cref="PipelineOptions.ResolveCacheTtl"/>
/// so that a reconnect storm (hundreds of viewers moving to this instance at once) costs one inspect per name, not
/// one per viewer. Concurrent resolutions of one name share one call (watched or not). Correctness comes first: a result is reused
/// only while the host's events are watched (<see cref="IResolveInvalidation"/>), every create, destroy or rename
/// forgets the host's entries at once, and a resolution that was in flight when such an event came is neither stored
/// nor shared with callers that came after the event (it may have seen the old container), so from the moment the
/// event is received a name reused by a new container never shows the old one's logs. Before that moment (Docker's
/// own delay in sending the event, or an events connection that stalls without failing) a stale entry can be used,
/// at most for the TTL, which is why the TTL is short and off by default on a single instance. Each host has a generation, bumped by every such event: a call and an
/// entry carry the generation they began in and count only while it is current, which closes the windows between a
/// check and a store that an event can fall into.
/// Without an invalidation source (unit tests with fake sources), nothing is cached.
/// </summary>
public sealed class ResolveCache
{
    private readonly ConcurrentDictionary<Key, Entry> _entries = new();
    private readonly ConcurrentDictionary<Key, Flight> _inFlight = new();
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private readonly LogSourceRegistry _sources;
    private readonly IResolveInvalidation? _invalidation;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly int _maxEntries;
    private long _calls;
    private long _hits;
    private long _invalidations;

    public ResolveCache(LogSourceRegistry sources, IOptions<PipelineOptions> options, TimeProvider time, IResolveInvalidation? invalidation = null)
    {
        _sources = sources;
        _invalidation = invalidation;
        _time = time;
        _ttl = options.Value.ResolveCacheTtl;
        _maxEntries = options.Value.ResolveCacheEntries;
    }

    /// <summary>Resolutions asked of the sources (each one is an inspect on the daemon), since the start.</summary>
    public long SourceCalls => Interlocked.Read(ref _calls);

    /// <summary>Resolutions answered from the cache (or by sharing a call in flight).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Events that forgot a host's entries.</summary>
    public long Invalidations => Interlocked.Read(ref _invalidations);

    public int Count => _entries.Count;

    /// <summary>The canonical id for what a client named; throws as <see cref="ILogSource.ResolveAsync"/> does.</summary>
    public async ValueTask<string> ResolveAsync(LogSourceType type, string hostId, string resource, CancellationToken cancellationToken)
    {
        var source = _sources.Get(type);
        if (_ttl <= TimeSpan.Zero || _invalidation is null)
            return await CallAsync(source, hostId, resource, cancellationToken).ConfigureAwait(false);

        var key = new Key(hostId, type, resource);
        var watched = _invalidation.IsWatching(hostId, this);
        var now = _time.GetTimestamp();
        // The host's generation before anything is looked at: an entry or a call is trusted only if it began in it.
        var generation = Generation(hostId);
        if (watched && _entries.TryGetValue(key, out var cached) && cached.Generation == generation
            && _time.GetElapsedTime(cached.Stored, now) < _ttl && cached.Result.IsCompletedSuccessfully)
        {
            Interlocked.Increment(ref _hits);
            return cached.Result.Result;
        }

        // Callers asking at the same moment share one call whether or not the host is watched (what they get is as
        // fresh as what each would have got); only a finished answer needs the events to stay trustworthy.
        Flight flight;
        while (true)
        {
            flight = _inFlight.GetOrAdd(key, static (k, state) => new Flight(state.Cache.Generation(k.HostId), new Lazy<Task<string>>(
                () => state.Cache.CallAsync(state.Source, k.HostId, k.Resource, CancellationToken.None).AsTask())), (Cache: this, Source: source));
            // A call that finished while its callers had all given up is not in flight any more: never share its answer.
            // Nor one that began before an event this caller has seen: its inspect may have found the old container.
            if ((flight.Call.IsValueCreated && flight.Call.Value.IsCompleted) || flight.Generation < generation)
            {
                _inFlight.TryRemove(new KeyValuePair<Key, Flight>(key, flight));
                continue;
            }
            if (flight.Call.IsValueCreated)
                Interlocked.Increment(ref _hits);
            break;
        }
        var call = flight.Call.Value;
        try
        {
            var id = await call.WaitAsync(cancellationToken).ConfigureAwait(false);
            // Stored only while watched, and only if no event came since the call began: its answer may be the old
            // container's. The entry keeps that generation: an event between this check and the store (Invalidate
            // bumps the generation, then clears) leaves an entry no read accepts, instead of a stale one.
            if (watched && Generation(hostId) == flight.Generation && (_entries.Count < _maxEntries || _entries.ContainsKey(key)))
                _entries[key] = new Entry(call, now, flight.Generation);
            return id;
        }
        finally
        {
            // Failures are not cached: a name that does not exist yet may be created the next second.
            if (call.IsCompleted)
                _inFlight.TryRemove(new KeyValuePair<Key, Flight>(key, flight));
        }
    }

    /// <summary>
    /// Forgets every resolution of a host (a container or service was created, destroyed or renamed there, or the
    /// watch of its events broke), and keeps resolutions in flight from being stored or shared with later callers.
    /// The generation goes up first, so whatever is stored from now on under the old one is never read.
    /// </summary>
    public void Invalidate(string hostId)
    {
        _generations.AddOrUpdate(hostId, 1, static (_, g) => g + 1);
        Interlocked.Increment(ref _invalidations);
        foreach (var key in _entries.Keys)
        {
            if (key.HostId == hostId)
                _entries.TryRemove(key, out _);
        }
    }

    /// <summary>Expired entries go, so the cache does not keep names nobody asks for (called by the watcher now and then).</summary>
    public void Prune()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, entry) in _entries)
        {
            if (_time.GetElapsedTime(entry.Stored, now) >= _ttl)
                _entries.TryRemove(new KeyValuePair<Key, Entry>(key, entry));
        }
    }

    private long Generation(string hostId) => _generations.TryGetValue(hostId, out var g) ? g : 0;

    private ValueTask<string> CallAsync(ILogSource source, string hostId, string resource, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return source.ResolveAsync(hostId, resource, cancellationToken);
    }

    private readonly record struct Key(string HostId, LogSourceType Type, string Resource);

    private sealed record Entry(Task<string> Result, long Stored, long Generation);

    /// <summary>A resolution under way, and the host's generation read before its call began.</summary>
    private sealed record Flight(long Generation, Lazy<Task<string>> Call);
}
