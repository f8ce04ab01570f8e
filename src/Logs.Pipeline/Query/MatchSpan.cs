namespace LogsMigration.Pipeline.Query;

/// <summary>Where a <c>filter</c> matched in a line's text: UTF-16 offsets, <see cref="End"/> exclusive.</summary>
public readonly record struct MatchSpan(int Start, int End);
