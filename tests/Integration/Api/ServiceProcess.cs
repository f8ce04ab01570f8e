using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LogsMigration.Tests.Integration.Api;

/// <summary>
/// The service as a real process on loopback (Kestrel on an ephemeral port), configured through environment
/// variables as an operator would, so its connections to the daemon can be counted from outside by its pid.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    public const string SigningKey = "integration-signing-key-at-least-32-bytes-long";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReaderCleanupTimeout = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private readonly string _instanceId;
    private readonly string[] _endpoints;

    private ServiceProcess(Process process, string instanceId, string[] endpoints)
    {
        _process = process;
        _instanceId = instanceId;
        _endpoints = endpoints;
    }

    public Uri BaseUri { get; private set; } = new("http://127.0.0.1");
    public int Pid => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>
    /// The service with one Docker host, <c>local</c>, at <paramref name="endpoint"/>, quiet logs (warnings and the
    /// lifetime messages its start is read from), plus <paramref name="extra"/> settings.
    /// </summary>
    public static Task<ServiceProcess> StartOnAsync(string endpoint, IDictionary<string, string>? extra = null, string urls = "http://127.0.0.1:0")
    {
        var settings = new Dictionary<string, string>
        {
            ["Docker:DefaultHost"] = "local",
            ["Docker:Hosts:local:Endpoint"] = endpoint,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            settings[key] = value;
        return StartAsync(settings, urls);
    }

    /// <param name="urls">Where it listens: an ephemeral port by default, a fixed one behind a proxy.</param>
    public static async Task<ServiceProcess> StartAsync(IDictionary<string, string> settings, string urls = "http://127.0.0.1:0")
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = Path.Combine(Infrastructure.EngineScript.RepositoryRoot, "src", "Api", "bin", configuration, "net10.0");
        var info = new ProcessStartInfo("dotnet", [Path.Combine(directory, "LogsMigration.Api.dll"), "--urls", urls])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Auth__SigningKey"] = SigningKey;
        info.Environment["Logging__Console__FormatterName"] = "simple";
        // Each process its own instance, as several instances on one machine must be (the owner of its host-log reader
        // containers: one process's start-up cleanup must not remove another's live readers). A setting overrides it.
        info.Environment["Streaming__InstanceId"] = $"it-{Guid.NewGuid():N}";
        foreach (var (key, value) in settings)
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var endpoints = settings.Where(s => s.Key.StartsWith("Docker:Hosts:", StringComparison.Ordinal) && s.Key.EndsWith(":Endpoint", StringComparison.Ordinal))
            .Select(s => s.Value).Distinct(StringComparer.Ordinal).ToArray();

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var service = new ServiceProcess(process, info.Environment["Streaming__InstanceId"]!, endpoints);
        void OnLine(string? line)
        {
            if (line is null)
                return;
            lock (service._output)
                service._output.AppendLine(line);
            if (ListeningPattern().Match(line) is { Success: true } match)
                listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            service.BaseUri = await listening.Task.WaitAsync(StartTimeout);
            return service;
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The service did not start listening within {StartTimeout}:\n{service.Output}");
        }
    }

    public static string Token(string role = "viewer", string subject = "it-user")
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("type", "access"), new Claim("role", role)]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public async Task<ClientWebSocket> ConnectAsync(string pathAndQuery, string? token = null)
    {
        var socket = new ClientWebSocket();
        var separator = pathAndQuery.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        var uri = new Uri($"ws://{BaseUri.Authority}{pathAndQuery}{separator}token={token ?? Token()}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(uri, timeout.Token);
        return socket;
    }

    public HttpClient AdminClient()
    {
        var http = new HttpClient { BaseAddress = BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token("admin", "it-admin"));
        return http;
    }

    public async Task<JsonElement> AdminGetAsync(string path)
    {
        using var http = AdminClient();
        return JsonDocument.Parse(await http.GetStringAsync(path)).RootElement.Clone();
    }

    /// <summary>Sends SIGTERM, as <c>docker stop</c> or Kubernetes does at the start of a graceful stop.</summary>
    public void Terminate()
    {
        const int SigTerm = 15;
        if (Kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    /// <summary>The process's exit code once it has exited, within <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The service did not exit within {timeout}:\n{Output}");
        }
        return _process.ExitCode;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>
    /// Kills the process, then removes the host-log reader containers it owned on its hosts: a killed instance leaves
    /// them running (its own next start-up would remove them, and a test's instance id is never started again), and
    /// each polls its file for as long as it runs, taking CPU from every later test.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        // The private engines only (unix sockets): a test's deliberately silent host (a tcp port that never answers)
        // runs no reader, and asking it would only wait.
        foreach (var endpoint in _endpoints.Where(e => e.StartsWith("unix://", StringComparison.Ordinal)))
        {
            try
            {
                var readers = await Infrastructure.ProcessRunner.RunAsync(Infrastructure.DockerCli.Docker,
                    ["-H", endpoint, "ps", "-aq", "--filter", $"label={LogsMigration.Docker.HostLogs.ReaderContainer.OwnerLabel}={_instanceId}"], ReaderCleanupTimeout);
                var ids = readers.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (ids.Length > 0)
                    await Infrastructure.ProcessRunner.RunAsync(Infrastructure.DockerCli.Docker, ["-H", endpoint, "rm", "-f", .. ids], ReaderCleanupTimeout);
            }
            catch (TimeoutException)
            {
                // An engine a test stopped or froze: its readers, if any, go with it or with the run's stop-all.
            }
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningPattern();
}
