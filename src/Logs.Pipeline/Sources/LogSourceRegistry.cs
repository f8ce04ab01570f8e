using System.Collections.Frozen;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Sources;

/// <summary>Maps each kind of log to the source that reads it (the old design's "router").</summary>
public sealed class LogSourceRegistry
{
    private readonly FrozenDictionary<LogSourceType, ILogSource> _sources;

    public LogSourceRegistry(IEnumerable<ILogSource> sources)
    {
        var map = new Dictionary<LogSourceType, ILogSource>();
        foreach (var source in sources)
        {
            if (!map.TryAdd(source.SourceType, source))
                throw new InvalidOperationException($"Two log sources are registered for '{source.SourceType.ToWire()}'.");
        }
        _sources = map.ToFrozenDictionary();
    }

    public bool TryGet(LogSourceType type, out ILogSource source) => _sources.TryGetValue(type, out source!);

    public ILogSource Get(LogSourceType type) =>
        TryGet(type, out var source)
            ? source
            : throw new LogSourceException(LogSourceErrorKind.NotImplemented, $"{type.ToWire()} logs are not available yet.");
}
