using System.Globalization;

namespace LogsMigration.Load.Raw;

/// <summary>
/// Limits of the raw ceiling broadcaster, set to the service's defaults so the two are compared like for like:
/// the per-client queue (<c>Pipeline:SubscriberQueueEntries</c>) and the batch bounds (<c>Streaming:MaxBatchEntries</c>,
/// <c>Streaming:MaxBatchBytes</c>).
/// </summary>
internal sealed record RawServerSettings(int QueueEntries = 2048, int MaxBatchEntries = 256, int MaxBatchBytes = 64 * 1024)
{
    public IEnumerable<string> ToArguments(int port) =>
    [
        "--port", port.ToString(CultureInfo.InvariantCulture),
        "--queue", QueueEntries.ToString(CultureInfo.InvariantCulture),
        "--batch-entries", MaxBatchEntries.ToString(CultureInfo.InvariantCulture),
        "--batch-bytes", MaxBatchBytes.ToString(CultureInfo.InvariantCulture),
    ];

    public static (int Port, RawServerSettings Settings) Parse(string[] args)
    {
        int Value(string name, int fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
        }
        var defaults = new RawServerSettings();
        return (Value("--port", 8099), new RawServerSettings(Value("--queue", defaults.QueueEntries), Value("--batch-entries", defaults.MaxBatchEntries), Value("--batch-bytes", defaults.MaxBatchBytes)));
    }
}
