namespace LogsMigration.Pipeline.Wire;

/// <summary>The per-line JSON frame of the contract, with or without the <c>docker logs -t</c> timestamp prefix on the text.</summary>
public enum LogFrameFormat
{
    Json = 0,
    JsonTimestamped = 1,
}
