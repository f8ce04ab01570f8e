using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using LogsMigration.Load.Raw;

namespace LogsMigration.Load.Infra;

/// <summary>
/// A server process the viewers connect to: the real service (<c>LogsMigration.Api.dll</c>) or the raw ceiling
/// broadcaster (this program's <c>raw-server</c> command), each started fresh for one run on a free loopback port,
/// its output kept in a log file, and stopped (TERM, then KILL) at the end of the run.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly HttpClient _http;
    private readonly Task _pumps;

    private ServerProcess(Process process, StreamWriter log, int port, string? adminToken)
    {
        _process = process;
        _log = log;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        if (adminToken is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        _pumps = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    /// <summary>The one Docker host the service is given (the harness's engine), by id.</summary>
    public const string DefaultHost = "local";

    public int Pid => _process.Id;
    public int Port { get; }
    public HttpClient Http => _http;
    public string WsBase => $"ws://127.0.0.1:{Port}";

    /// <summary>
    /// Starts the real service against <paramref name="engine"/>, with extra configuration as environment variables,
    /// on <paramref name="port"/> (a free one when null: a restarted service takes its predecessor's).
    /// </summary>
    public static Task<ServerProcess> StartServiceAsync(HarnessSettings settings, DockerEngine engine, Tokens tokens, IReadOnlyDictionary<string, string> configuration, string logFile, CancellationToken cancellationToken, int? port = null) =>
        StartServiceOnAsync(settings, engine, tokens, configuration, logFile, port ?? FreePort(), cancellationToken);

    private static Task<ServerProcess> StartServiceOnAsync(HarnessSettings settings, DockerEngine engine, Tokens tokens, IReadOnlyDictionary<string, string> configuration, string logFile, int port, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(settings.ServiceDll)! };
        info.ArgumentList.Add(settings.ServiceDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["Auth__SigningKey"] = tokens.SigningKeySetting;
        info.Environment["Docker__DefaultHost"] = DefaultHost;
        info.Environment[$"Docker__Hosts__{DefaultHost}__Endpoint"] = engine.Endpoint;
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in configuration)
            info.Environment[name] = value;
        return StartAsync(info, port, tokens.Mint("load-admin", "admin"), logFile, "healthz", cancellationToken);
    }

    /// <summary>Starts the raw ceiling broadcaster: this same program, as another process, so it does not share the viewers' CPU time slices.</summary>
    public static Task<ServerProcess> StartRawAsync(HarnessSettings settings, RawServerSettings raw, string logFile, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(typeof(ServerProcess).Assembly.Location);
        info.ArgumentList.Add("raw-server");
        foreach (var argument in raw.ToArguments(port))
            info.ArgumentList.Add(argument);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return StartAsync(info, port, null, logFile, "healthz", cancellationToken);
    }

    private static async Task<ServerProcess> StartAsync(ProcessStartInfo info, int port, string? adminToken, string logFile, string healthPath, CancellationToken cancellationToken)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.Environment["DOTNET_gcServer"] = "0";
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {info.FileName}");
        var server = new ServerProcess(process, log, port, adminToken);
        Live[server] = 0;
        try
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"{string.Join(' ', info.ArgumentList)} exited with {process.ExitCode} at start; see {logFile}");
                try
                {
                    using var response = await server._http.GetAsync(healthPath, cancellationToken);
                    if (response.IsSuccessStatusCode)
                        return server;
                }
                catch (HttpRequestException)
                {
                }
                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException($"server did not answer /{healthPath} within 30 s; see {logFile}");
                await Task.Delay(100, cancellationToken);
            }
        }
        catch
        {
            // Cancelled or failed while starting: the process must not outlive the harness.
            await server.DisposeAsync();
            throw;
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ServerProcess, byte> Live = new();

    /// <summary>Stops every server this harness started and has not stopped yet (the last line of defence against orphans).</summary>
    public static async Task StopAllAsync()
    {
        foreach (var server in Live.Keys.ToList())
            await server.DisposeAsync();
    }

    /// <summary>Switches the path of NEW container-log connections (admin API); the service answers with the override it holds.</summary>
    public async Task SetContainerPathAsync(bool unified, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync("admin/flags/container", new { unified }, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The shared streams the service holds (<c>GET /admin/streams</c>): how many, and their subscribers in all.</summary>
    public async Task<(int Streams, int Subscribers, int Sessions)> StreamsAsync(CancellationToken cancellationToken)
    {
        var body = await _http.GetFromJsonAsync<JsonObject>("admin/streams", cancellationToken);
        var streams = body?["streams"]?.AsArray() ?? [];
        var subscribers = streams.Sum(s => s?["subscribers"]?.GetValue<int>() ?? 0);
        return (streams.Count, subscribers, body?["sessions"]?.GetValue<int>() ?? 0);
    }

    /// <summary>What the unified path holds for clients (<c>GET /admin/streams</c>, <c>buffers</c>): replay and queued bytes, and the budget.</summary>
    public async Task<(long ReplayBytes, long QueuedBytes, long LimitBytes)> BuffersAsync(CancellationToken cancellationToken)
    {
        var body = await _http.GetFromJsonAsync<JsonObject>("admin/streams", cancellationToken);
        var buffers = body?["buffers"];
        return (buffers?["replay_bytes"]?.GetValue<long>() ?? 0, buffers?["queued_bytes"]?.GetValue<long>() ?? 0, buffers?["limit_bytes"]?.GetValue<long>() ?? 0);
    }

    public async Task<string> MetricsAsync(CancellationToken cancellationToken) => await _http.GetStringAsync("metrics", cancellationToken);

    /// <summary>Kills the process at once (SIGKILL: no shutdown, sessions and streams gone mid-line), as a crash or an OOM kill would.</summary>
    public async Task KillAsync()
    {
        if (!Live.TryRemove(this, out _))
            return;
        if (!_process.HasExited)
            _ = Kill(_process.Id, SigKill);
        await _process.WaitForExitAsync();
        await ReleaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!Live.TryRemove(this, out _))
            return;
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        await ReleaseAsync();
    }

    private async Task ReleaseAsync()
    {
        await _pumps;
        await _log.DisposeAsync();
        _http.Dispose();
        _process.Dispose();
    }

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_log)
                _log.WriteLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
