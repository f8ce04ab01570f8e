using LogsMigration.Pipeline;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Streaming;

/// <summary>Per-connection limits of the WebSocket endpoints. Bound from the <c>Streaming</c> section; validated at start-up.</summary>
public sealed class StreamingOptions
{
    public const string SectionName = "Streaming";

    /// <summary>A <c>heartbeat</c> frame is sent after this long without any frame, so proxies keep idle sockets open. Default 15 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest <c>tail</c> accepted; at most <c>Pipeline:ReplayEntries</c>. Default 1,000.</summary>
    public int MaxTail { get; set; } = 1000;

    /// <summary>Default <c>tail</c> when the client gives none. Default 100 (the contract's).</summary>
    public int DefaultTail { get; set; } = 100;

    /// <summary>Open log sessions at most, over all routes; one more is refused with 4429. Default 10,000.</summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>How long a close handshake may take before the socket is aborted. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long resolving the resource and opening the stream may take before the client gets an error. Default 30 s.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A frame the client does not take within this long ends the session as a slow consumer (4408; the socket is
    /// aborted, since a client that does not read cannot read a close frame either). Default 30 s.
    /// </summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When the server stops (SIGTERM), every open session gets <c>disconnected</c> with <c>reconnect: true</c> and
    /// 1012 at a random moment within this window, so clients do not all reconnect to the next instance in the same
    /// second. The host's shutdown timeout is raised to fit it (<see cref="ShutdownDrain"/>). Default 10 s.
    /// </summary>
    public TimeSpan ShutdownDrainWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This instance's name in <c>connected.instance</c>, so a viewer (and a test) can tell which instance behind the
    /// proxy serves it. Empty (the default): the machine name and the process id, <c>host-1234</c>.
    /// </summary>
    public string InstanceId { get; set; } = "";

    /// <summary>The configured <see cref="InstanceId"/>, or the machine name and the process id.</summary>
    internal string EffectiveInstanceId => InstanceId.Length > 0 ? InstanceId : $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>With <c>format=batch</c>, at most this many lines go in one frame. Default 256.</summary>
    public int MaxBatchEntries { get; set; } = 256;

    /// <summary>With <c>format=batch</c>, a frame is sent once it holds this many bytes. Default 64 KiB.</summary>
    public int MaxBatchBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// With <c>format=batch</c>, a client's next frame leaves at least this long after its previous one began: lines
    /// that come sooner wait for it and go together, so a busy stream leaves as few large frames (a frame costs the
    /// server about the same whatever its size) while the first line after a quiet spell still goes at once. Adds at
    /// most this much latency, and only to a stream writing faster than one frame per linger. Zero: every drain of the
    /// queue is sent at once. Default 5 ms (chosen from docs/benchmarks.md, "Batch linger"); at most
    /// <see cref="MaxBatchLinger"/>.
    /// </summary>
    public TimeSpan BatchLinger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The longest <see cref="BatchLinger"/> the validator accepts.</summary>
    internal static readonly TimeSpan MaxBatchLinger = TimeSpan.FromMilliseconds(100);

    internal sealed class Validator(IOptions<PipelineOptions> pipeline) : IValidateOptions<StreamingOptions>
    {
        public ValidateOptionsResult Validate(string? name, StreamingOptions o)
        {
            var errors = new List<string>();
            if (o.HeartbeatInterval < TimeSpan.FromSeconds(1) || o.HeartbeatInterval > TimeSpan.FromMinutes(10))
                errors.Add($"Streaming:HeartbeatInterval must be between 00:00:01 and 00:10:00 (was {o.HeartbeatInterval}).");
            if (o.MaxTail < 0 || o.MaxTail > pipeline.Value.ReplayEntries)
                errors.Add($"Streaming:MaxTail must be between 0 and Pipeline:ReplayEntries ({pipeline.Value.ReplayEntries}) (was {o.MaxTail}).");
            if (o.DefaultTail < 0 || o.DefaultTail > o.MaxTail)
                errors.Add($"Streaming:DefaultTail must be between 0 and Streaming:MaxTail (was {o.DefaultTail}).");
            if (o.MaxSessions < 1)
                errors.Add($"Streaming:MaxSessions must be at least 1 (was {o.MaxSessions}).");
            if (o.CloseTimeout <= TimeSpan.Zero || o.CloseTimeout > TimeSpan.FromMinutes(1))
                errors.Add($"Streaming:CloseTimeout must be between 00:00:00 and 00:01:00 (was {o.CloseTimeout}).");
            if (o.OpenTimeout <= TimeSpan.Zero || o.OpenTimeout > TimeSpan.FromMinutes(10))
                errors.Add($"Streaming:OpenTimeout must be between 00:00:00 and 00:10:00 (was {o.OpenTimeout}).");
            if (o.SendTimeout < TimeSpan.FromMilliseconds(100) || o.SendTimeout > TimeSpan.FromHours(1))
                errors.Add($"Streaming:SendTimeout must be between 00:00:00.1 and 01:00:00 (was {o.SendTimeout}).");
            if (o.ShutdownDrainWindow < TimeSpan.Zero || o.ShutdownDrainWindow > TimeSpan.FromMinutes(10))
                errors.Add($"Streaming:ShutdownDrainWindow must be between 00:00:00 and 00:10:00 (was {o.ShutdownDrainWindow}).");
            if (o.MaxBatchEntries is < 1 or > 100_000)
                errors.Add($"Streaming:MaxBatchEntries must be between 1 and 100000 (was {o.MaxBatchEntries}).");
            if (o.MaxBatchBytes is < 1024 or > 16 * 1024 * 1024)
                errors.Add($"Streaming:MaxBatchBytes must be between 1024 and 16777216 (was {o.MaxBatchBytes}).");
            // Lines do not end a linger, so a longer one lets a busy stream queue more than
            // Pipeline:SubscriberQueueEntries lines for a healthy client, which then gets slow-client gap markers.
            if (o.BatchLinger < TimeSpan.Zero || o.BatchLinger > MaxBatchLinger)
                errors.Add($"Streaming:BatchLinger must be between 00:00:00 and 00:00:00.100 (was {o.BatchLinger}).");
            if (o.InstanceId.Length > 128 || o.InstanceId.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
                errors.Add($"Streaming:InstanceId must be at most 128 characters without spaces or control characters (was '{o.InstanceId}').");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
