using System.Runtime.CompilerServices;
using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>
/// A notice travelling through a stream's graph as a chunk of its own: an empty array known by its identity. The
/// graph carries chunks of lines; a notice sent beside it (straight into each queue) could overtake lines still in
/// the sequencer or the broadcast, so it takes the same road and keeps its place after them.
/// </summary>
internal static class NoticeChunk
{
    private static readonly ConditionalWeakTable<LogEntry[], StreamNotice> Notices = [];

    public static LogEntry[] Create(StreamNotice notice)
    {
        // A new array each time, never Array.Empty: the identity is what names the notice.
        var chunk = new LogEntry[0];
        Notices.Add(chunk, notice);
        return chunk;
    }

    public static bool TryGet(LogEntry[] chunk, out StreamNotice notice)
    {
        notice = null!;
        return chunk.Length == 0 && Notices.TryGetValue(chunk, out notice!);
    }
}
