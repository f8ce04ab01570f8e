using LogsMigration.Pipeline.Model;

namespace LogsMigration.Pipeline.Positions;

/// <summary>A line read from a source with its identity and the stream's position after it, ready to be sequenced.</summary>
internal readonly record struct PositionedRecord(SourceRecord Record, ulong Line, StreamPosition Position);
