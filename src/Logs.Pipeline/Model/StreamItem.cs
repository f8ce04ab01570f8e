namespace LogsMigration.Pipeline.Model;

/// <summary>What a subscriber's queue holds: a <see cref="LogEntry"/> or a <see cref="StreamNotice"/>.</summary>
public abstract class StreamItem;
