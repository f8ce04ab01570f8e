namespace LogsMigration.Docker.HostLogs;

/// <summary>One line as read, without its newline, and where it starts in its file (0 for a process's output).</summary>
/// <param name="Cut">The line was longer than the assembler's limit and only its start is here.</param>
internal readonly record struct RawLine(string Text, long Offset, bool Cut = false);
