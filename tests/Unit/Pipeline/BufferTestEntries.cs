using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Wire;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>Entries of a chosen text for the byte-accounting tests.</summary>
internal static class BufferTestEntries
{
    public static LogEntry Entry(long sequence, string text, IReadOnlyDictionary<string, string>? metadata = null, bool receivedTime = false) =>
        new(PipelineHarness.Key, sequence, "e1e2e3e4", new SourceRecord(new LogTimestamp(1_700_000_000_000_000_000 + sequence), receivedTime, OutputStream.Stdout, text, LogSeverity.Info, metadata));

    public static LogEntry[] Chunk(long first, int count, string text) =>
        Enumerable.Range(0, count).Select(i => Entry(first + i, text)).ToArray();

    /// <summary>What an entry really holds once both of its frames are made: its text (UTF-16) and every frame's bytes.</summary>
    public static long Held(LogEntry entry) =>
        entry.Text.Length * sizeof(char) + entry.GetFrame(LogFrameFormat.Json).Length + entry.GetFrame(LogFrameFormat.JsonTimestamped).Length;

    public static readonly string Line64K = new('x', 64 * 1024);
}
