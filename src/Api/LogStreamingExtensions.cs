using System.Text.Json;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Rollout;
using LogsMigration.Legacy;
using Microsoft.FeatureManagement;
using LogsMigration.Api.Streaming;
using LogsMigration.Docker;
using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Query;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api;

public static class LogStreamingExtensions
{
    /// <summary>Everything the log routes need: the pipeline, the Docker sources, token checks and the per-connection options.</summary>
    public static WebApplicationBuilder AddLogStreaming(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddLogPipeline(configuration);
        services.AddDockerLogSources(configuration);
        services.AddLogQueries(configuration);

        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthOptions>, AuthOptions.Validator>());
        services.AddOptions<StreamingOptions>().Bind(configuration.GetSection(StreamingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StreamingOptions>, StreamingOptions.Validator>());
        // Host-log reader containers belong to the instance, not the machine: several instances on one machine (each
        // with its own InstanceId) must not remove each other's live readers at start-up.
        services.PostConfigure<DockerOptions>(docker =>
        {
            if (docker.HostLogs is { ReaderOwner: null or "" } hostLogs && configuration[$"{StreamingOptions.SectionName}:InstanceId"] is { Length: > 0 } instance)
                hostLogs.ReaderOwner = instance;
        });

        services.AddOptions<RolloutOptions>().Bind(configuration.GetSection(RolloutOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RolloutOptions>, RolloutOptions.Validator>());
        // Flags come from the FeatureManagement section of the configuration, which reloads when appsettings.json changes.
        services.AddFeatureManagement();
        services.TryAddSingleton<PathSelector>();
        services.TryAddSingleton<SessionRegistry>();
        services.TryAddSingleton<LegacyLogStreams>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);

        services.TryAddSingleton<AccessTokenValidator>();
        services.TryAddSingleton<SessionLimiter>();
        services.TryAddSingleton<LogsMigration.Api.Query.DownloadLimiter>();
        services.TryAddSingleton<LogSessionHandler>();
        // On SIGTERM every session is told to reconnect (1012), spread over Streaming:ShutdownDrainWindow.
        services.AddHostedService<ShutdownDrain>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HostOptions>, ShutdownDrain.HostTimeout>());
        return builder;
    }

    /// <summary>WebSocket support. Keep-alive pings are ours (heartbeat frames), so the protocol-level interval stays default.</summary>
    public static WebApplication UseLogStreaming(this WebApplication app)
    {
        app.UseWebSockets();
        return app;
    }
}
