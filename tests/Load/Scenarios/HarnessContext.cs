using System.Net.Sockets;
using LogsMigration.Load.Infra;
using LogsMigration.Load.Raw;
using LogsMigration.Load.Report;

namespace LogsMigration.Load.Scenarios;

/// <summary>What every scenario shares in one harness run: the engine, the signing key, the viewers' HTTP stacks, the results.</summary>
internal sealed class HarnessContext(HarnessSettings settings, DockerEngine engine, LiveProgress progress) : IDisposable
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private int _runs;

    /// <summary>Disturbed runs are re-run only in the first 16 minutes, so the full mode stays within its time.</summary>
    public bool MayRetry => !Settings.NoRetry && _clock.Elapsed < TimeSpan.FromMinutes(16);

    public HarnessSettings Settings { get; } = settings;
    public DockerEngine Engine { get; } = engine;
    public LiveProgress Progress { get; } = progress;
    public Tokens Tokens { get; } = new();
    public string ViewerToken => _viewerToken ??= Tokens.Mint("load-viewer", "viewer");
    private string? _viewerToken;
    public List<RunResult> Results { get; } = [];

    /// <summary>Records a run's result and prints its line at once, so progress shows run by run.</summary>
    public void Add(RunResult result)
    {
        Results.Add(result);
        ConsoleReport.PrintRunLine(result);
    }

    /// <summary>A container that writes 200 lines/s for the whole harness run: each fresh server is warmed up on it.</summary>
    public string WarmupStream { get; set; } = "";

    /// <summary>The viewers' connections: plain sockets, as a browser's.</summary>
    public HttpMessageInvoker Viewers { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false });

    /// <summary>
    /// Slow viewers' connections: a small, fixed receive buffer (no autotuning), so a viewer that stops reading fills
    /// its socket in a few hundred lines, as a frozen tab on a real network would, and the server's queue has to act.
    /// </summary>
    public HttpMessageInvoker SlowViewers { get; } = new(new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 32 * 1024 };
            await socket.ConnectAsync(context.DnsEndPoint, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    });

    /// <summary>A short unique id for a run's containers and files.</summary>
    public string NextRunId() => $"r{Environment.ProcessId % 10000}x{Interlocked.Increment(ref _runs)}";

    public string LogFile(string runId, string what) => Path.Combine(Settings.LogDir, $"{runId}-{what}.log");

    /// <summary>The signal folders of one engine's runs: one harness per engine, so two harnesses never share (or delete) each other's.</summary>
    public static string SignalRoot(string engine) => Path.Combine(Path.GetTempPath(), "logsmigration-load", engine);

    /// <summary>A folder bind-mounted into the run's containers at <c>/sig</c>; the harness creates <c>go1</c>, <c>go2</c>… in it.</summary>
    public string SignalDir(string runId)
    {
        var dir = Path.Combine(SignalRoot(Settings.EngineName), runId);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private ServerProcess? _service;
    private ServerProcess? _raw;

    /// <summary>
    /// The service every run with the default configuration shares, started and warmed up once: a fresh process
    /// spends its first half-minute compiling (profiling showed the JIT at over half of its CPU time), and a service
    /// in production is long-lived. Runs switch its path through the admin API, as an operator would.
    /// </summary>
    public async Task<ServerProcess> SharedServiceAsync(CancellationToken cancellationToken)
    {
        if (_service is not null)
            return _service;
        var note = new RunResult { Scenario = "", Variant = "", Path = "", Format = "" };
        _service = await BroadcastRun.StartServerAsync(this, "shared", Target.Unified, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), note, cancellationToken, warmAll: true);
        return _service;
    }

    /// <summary>The raw ceiling broadcaster every run shares, warmed up once like the service.</summary>
    public async Task<ServerProcess> SharedRawAsync(CancellationToken cancellationToken)
    {
        if (_raw is not null)
            return _raw;
        var note = new RunResult { Scenario = "", Variant = "", Path = "", Format = "" };
        _raw = await BroadcastRun.StartServerAsync(this, "shared", Target.Raw, false, new Dictionary<string, string>(), new Raw.RawServerSettings(), note, cancellationToken, warmAll: true);
        return _raw;
    }

    public async Task StopSharedAsync()
    {
        if (_service is not null)
            await _service.DisposeAsync();
        if (_raw is not null)
            await _raw.DisposeAsync();
        _service = _raw = null;
    }

    public void Dispose()
    {
        Viewers.Dispose();
        SlowViewers.Dispose();
    }
}
