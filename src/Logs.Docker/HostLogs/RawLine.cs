namespace LogsMigration.Docker.HostLogs;

/// <summary>One line as read, without its newline, and where it starts in its file (0 for a process's output).</summary>
internal readonly record struct RawLine(string Text, long Offset);
