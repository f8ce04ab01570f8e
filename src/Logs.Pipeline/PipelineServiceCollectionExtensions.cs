using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>Registers the shared pipeline: options (validated at start-up), the source registry and the stream manager.</summary>
    public static IServiceCollection AddLogPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PipelineOptions>().Bind(configuration.GetSection(PipelineOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton(sp => new BufferBudget(sp.GetRequiredService<IOptions<PipelineOptions>>().Value.TotalBufferBytes));
        services.TryAddSingleton<LogMetrics>();
        services.TryAddSingleton<LogSourceRegistry>();
        services.TryAddSingleton<ResolveCache>();
        services.TryAddSingleton<LogStreamManager>();
        return services;
    }
}
