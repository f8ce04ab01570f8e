using LogsMigration.Docker;
using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LogsMigration.Tests.Integration.Infrastructure;

/// <summary>
/// The service's own composition of the pipeline and the Docker sources (<c>AddLogPipeline</c> and
/// <c>AddDockerLogSources</c> over configuration), as the API host builds it, without the web layer.
/// </summary>
public sealed class PipelineHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public PipelineHost(ITestOutputHelper output, IDictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(new XunitLoggerProvider(output)));
        services.AddLogPipeline(configuration);
        services.AddDockerLogSources(configuration);
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public LogStreamManager Manager => _provider.GetRequiredService<LogStreamManager>();

    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>Settings for one Docker host named <paramref name="hostId"/>, plus any extra ones.</summary>
    public static Dictionary<string, string?> Settings(string hostId, string endpoint, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Docker:DefaultHost"] = hostId,
            [$"Docker:Hosts:{hostId}:Endpoint"] = endpoint,
        };
        foreach (var (key, value) in extra)
            settings[key] = value;
        return settings;
    }

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();
}
