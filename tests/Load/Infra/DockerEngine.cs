using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LogsMigration.Load.Infra;

/// <summary>
/// The harness's own private Docker engine (<c>scripts/docker-engine.sh start NAME</c>), never one of the engines
/// that other test suites use. Containers are made through the Engine API on its unix socket; the engine is stopped
/// when the harness ends, whatever happened.
/// </summary>
internal sealed class DockerEngine : IAsyncDisposable
{
    public const string Image = "local/busybox:latest";
    private const string Label = "logsmigration.load";
    private readonly string _script;
    private readonly HttpClient _http;

    private DockerEngine(string script, string name, string socketPath)
    {
        _script = script;
        Name = name;
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        // dockerd 20.10 speaks API 1.41 at most.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/v1.41/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Name { get; }
    public string SocketPath { get; }
    public string Endpoint => "unix://" + SocketPath;

    /// <summary>containerd, the shims and the containers of this engine (not dockerd), for their CPU time.</summary>
    public IReadOnlyList<int> EngineProcesses() => Proc.EngineProcesses(DaemonPid, Path.GetDirectoryName(SocketPath)! + "/");

    /// <summary>The daemon's pid, read from its pidfile (for its CPU time).</summary>
    public int DaemonPid { get; private set; }

    public static async Task<DockerEngine> StartAsync(string repoRoot, string name, CancellationToken cancellationToken)
    {
        var script = Path.Combine(repoRoot, "scripts", "docker-engine.sh");
        var endpoint = (await Shell.RunAsync(script, ["start", name], TimeSpan.FromSeconds(60), cancellationToken)).Trim();
        await Shell.RunAsync(script, ["image", name], TimeSpan.FromSeconds(60), cancellationToken);
        var socket = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : endpoint;
        var engine = new DockerEngine(script, name, socket);
        var pidFile = Path.Combine(Path.GetDirectoryName(socket)!, "dockerd.pid");
        engine.DaemonPid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await engine.RemoveLeftoversAsync(cancellationToken);
        return engine;
    }

    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        var version = await _http.GetFromJsonAsync<JsonObject>("version", cancellationToken);
        return $"{version?["Version"]} (API {version?["ApiVersion"]})";
    }

    /// <summary>
    /// Creates and starts a busybox container running <paramref name="script"/>, with <paramref name="signalDir"/>
    /// mounted read-only at <c>/sig</c> and <paramref name="labels"/> besides the harness's own (e.g. Compose's, to make
    /// it a member of a Compose project).
    /// </summary>
    public Task CreateAndStartAsync(string name, string script, string signalDir, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? labels = null) =>
        RetryAsync(() => CreateAndStartOnceAsync(name, script, signalDir, labels, cancellationToken), cancellationToken);

    /// <summary>
    /// A few tries for a call to dockerd: when it is saturated (a thousand legacy log followers) its socket's accept
    /// queue overflows and a connect fails at once, which says nothing about the call itself.
    /// </summary>
    private static async Task RetryAsync(Func<Task> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (HttpRequestException) when (attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    private async Task CreateAndStartOnceAsync(string name, string script, string signalDir, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var allLabels = new JsonObject { [Label] = "1" };
        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
            allLabels[key] = value;
        var body = new JsonObject
        {
            ["Image"] = Image,
            ["Cmd"] = new JsonArray("sh", "-c", script),
            // An open, never-written stdin: `read -t` on it is the shell's sleep without a fork.
            ["OpenStdin"] = true,
            ["Tty"] = false,
            ["Labels"] = allLabels,
            ["HostConfig"] = new JsonObject
            {
                ["Binds"] = new JsonArray($"{signalDir}:/sig:ro"),
                ["NetworkMode"] = "none",
            },
        };
        using (var create = await _http.PostAsJsonAsync($"containers/create?name={name}", body, cancellationToken))
        {
            if (!create.IsSuccessStatusCode)
                throw new InvalidOperationException($"create {name}: {(int)create.StatusCode} {await create.Content.ReadAsStringAsync(cancellationToken)}");
        }
        using var start = await _http.PostAsync($"containers/{name}/start", null, cancellationToken);
        if (!start.IsSuccessStatusCode)
            throw new InvalidOperationException($"start {name}: {(int)start.StatusCode} {await start.Content.ReadAsStringAsync(cancellationToken)}");
    }

    /// <summary>Creates many containers, a few at a time (dockerd serialises much of a start anyway).</summary>
    public Task CreateManyAsync(IEnumerable<(string Name, string Script)> containers, string signalDir, CancellationToken cancellationToken) =>
        CreateManyAsync(containers.Select(c => (c.Name, c.Script, (IReadOnlyDictionary<string, string>?)null)), signalDir, cancellationToken);

    /// <summary>Creates many containers, each with its own labels.</summary>
    public Task CreateManyAsync(IEnumerable<(string Name, string Script, IReadOnlyDictionary<string, string>? Labels)> containers, string signalDir, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (c, ct) => await CreateAndStartAsync(c.Name, c.Script, signalDir, ct, c.Labels));

    public async Task RemoveAsync(IEnumerable<string> names, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            try
            {
                await RetryAsync(async () =>
                {
                    using var response = await _http.DeleteAsync($"containers/{name}?force=true", ct);
                }, ct);
            }
            catch (HttpRequestException)
            {
                // Left for the sweep by label at the end of the harness run.
            }
        });

    /// <summary>Containers a killed earlier run left behind, found by the harness's label.</summary>
    public async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        var filters = Uri.EscapeDataString(JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [Label] }));
        var list = await _http.GetFromJsonAsync<JsonArray>($"containers/json?all=true&filters={filters}", cancellationToken) ?? [];
        await RemoveAsync(list.Select(c => c!["Id"]!.GetValue<string>()), cancellationToken);
    }

    /// <summary>
    /// How many connections <paramref name="pid"/> holds to this daemon's socket, counted from the kernel's socket
    /// table (<c>scripts/docker-engine.sh connections</c>): what the daemon serves, not what the service believes.
    /// </summary>
    public async Task<int> ConnectionsFromAsync(int pid, CancellationToken cancellationToken)
    {
        var output = await Shell.RunAsync(_script, ["connections", SocketPath, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(20), cancellationToken);
        return int.TryParse(output.Trim(), out var count) ? count : -1;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await RemoveLeftoversAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
        }
        _http.Dispose();
        await Shell.RunAsync(_script, ["stop", Name], TimeSpan.FromSeconds(90), CancellationToken.None);
    }
}

/// <summary>Runs a command to completion with a time limit and returns its standard output.</summary>
internal static class Shell
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, TimeSpan limit, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', info.ArgumentList)} did not finish within {limit.TotalSeconds:0} s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
