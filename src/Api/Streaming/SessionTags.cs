using System.Diagnostics;
using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Observability;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// The <c>path</c> and <c>source</c> tags of a session's metrics, made once per pair. A <see cref="TagList"/> is a
/// 144-byte struct: kept in every session's sender and handler frame, it made up a good part of an idle session.
/// </summary>
internal static class SessionTags
{
    private static readonly TagList[] All = Create();

    public static ref readonly TagList For(LogPath path, LogSourceType source) => ref All[Index(path, source)];

    private static int Index(LogPath path, LogSourceType source) => (int)source * 2 + (path == LogPath.Unified ? 0 : 1);

    private static TagList[] Create()
    {
        var sources = Enum.GetValues<LogSourceType>();
        var all = new TagList[(sources.Max(s => (int)s) + 1) * 2];
        foreach (var source in sources)
        {
            all[Index(LogPath.Unified, source)] = LogMetrics.Tags(LogMetrics.Unified, source);
            all[Index(LogPath.Legacy, source)] = LogMetrics.Tags(LogMetrics.Legacy, source);
        }
        return all;
    }
}
