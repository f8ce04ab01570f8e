namespace LogsMigration.Pipeline.Streaming;

/// <summary>A resume cursor that is well formed but cannot be used for this stream; the client gets invalid_parameter.</summary>
public sealed class InvalidResumeException(string message) : Exception(message);
