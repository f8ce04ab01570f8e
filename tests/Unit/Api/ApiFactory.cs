using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// The real service in a test host, with our own fake <see cref="ILogSource"/>s in place of the Docker ones
/// (Docker itself is proven by the integration tests). Captures every log line the service writes.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<Program>
{
    public const string SigningKey = "test-signing-key-that-is-long-enough-for-hs256";
    public const string AllowedOrigin = "https://logs.example.test";

    private readonly Dictionary<string, string?> _settings = new()
    {
        ["Auth:SigningKey"] = SigningKey,
        ["Auth:AllowedOrigins:0"] = AllowedOrigin,
        ["Docker:DefaultHost"] = "local",
        ["Docker:Hosts:local:Endpoint"] = "unix:///nonexistent/docker.sock",
        ["Docker:Hosts:other:Endpoint"] = "unix:///nonexistent/other.sock",
        ["Streaming:MaxTail"] = "500",
        ["Pipeline:ReplayEntries"] = "500",
    };

    private readonly string? _extraJsonFile;
    private readonly TimeProvider? _time;

    /// <param name="configure">Changes to the settings above.</param>
    /// <param name="extraJsonFile">A JSON file added last, reloaded on change (to flip flags by rewriting a file).</param>
    /// <param name="time">The clock of the whole service (a FakeTimeProvider for tests about timers); the system's by default.</param>
    public ApiFactory(Action<Dictionary<string, string?>>? configure = null, string? extraJsonFile = null, TimeProvider? time = null)
    {
        configure?.Invoke(_settings);
        _extraJsonFile = extraJsonFile;
        _time = time;
    }

    /// <summary>
    /// How long a test waits for a frame or a handshake before it fails. Only a failing test waits this long; a loaded
    /// CI machine must never turn a slow pass into a failure.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public FakeLogSource Containers { get; } = new(LogSourceType.Container);
    public FakeLogSource ServiceSource { get; } = new(LogSourceType.Service);
    public ConcurrentQueue<string> LogLines { get; } = new();

    public LogStreamManager Streams => Services.GetRequiredService<LogStreamManager>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
        if (_extraJsonFile is not null)
            builder.ConfigureAppConfiguration(config => config.AddJsonFile(_extraJsonFile, optional: false, reloadOnChange: true));
        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<ILogSource>();
            services.AddSingleton<ILogSource>(Containers);
            services.AddSingleton<ILogSource>(ServiceSource);
            if (_time is not null)
                services.AddSingleton(_time);
        });
        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(new CapturingLoggerProvider(LogLines));
        });
    }

    public static string Token(string role = "viewer", string type = "access", TimeSpan? expiresIn = null, string key = SigningKey, string subject = "user-1")
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(10));
        var descriptor = new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("type", type), new Claim("role", role)]),
            IssuedAt = expires < now ? expires.AddMinutes(-5) : now,
            NotBefore = expires < now ? expires.AddMinutes(-5) : now,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public async Task<WebSocket> Connect(string pathAndQuery, string? origin = AllowedOrigin, string? bearer = null)
    {
        var client = Server.CreateWebSocketClient();
        client.ConfigureRequest = request =>
        {
            if (origin is not null)
                request.Headers.Origin = origin;
            if (bearer is not null)
                request.Headers.Authorization = $"Bearer {bearer}";
        };
        using var cts = new CancellationTokenSource(Timeout);
        return await client.ConnectAsync(new Uri(Server.BaseAddress, pathAndQuery), cts.Token);
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines);
        public void Dispose() { }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{category}: {formatter(state, exception)} {structured} {exception}");
        }
    }
}

/// <summary>Reads the frames of a test WebSocket.</summary>
public static class Frames
{
    public static async Task<JsonElement?> Next(WebSocket socket, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? ApiFactory.Timeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
                return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
        }
    }

    /// <summary>Reads frames until the server closes; returns them with the close status.</summary>
    public static async Task<(List<JsonElement> Frames, WebSocketCloseStatus? Status, string? Reason)> UntilClosed(WebSocket socket, TimeSpan? timeout = null)
    {
        var frames = new List<JsonElement>();
        while (await Next(socket, timeout) is { } frame)
            frames.Add(frame);
        return (frames, socket.CloseStatus, socket.CloseStatusDescription);
    }

    public static string Type(this JsonElement frame) => frame.GetProperty("type").GetString()!;
    public static string Str(this JsonElement frame, string name) => frame.GetProperty(name).GetString()!;
}
