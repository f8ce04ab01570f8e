using LogsMigration.Docker.Containers;
using LogsMigration.Docker.HostLogs;
using LogsMigration.Docker.Services;
using LogsMigration.Docker.Stacks;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker;

public static class DockerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Docker log sources: <see cref="DockerOptions"/> (section <c>Docker</c>, validated at start-up),
    /// <see cref="DockerHosts"/>, and the container, service and stack sources as <see cref="ILogSource"/>s.
    /// </summary>
    public static IServiceCollection AddDockerLogSources(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DockerOptions>().Bind(configuration.GetSection(DockerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<DockerOptions>, DockerOptionsPostConfigure>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerOptions>, DockerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DockerHosts>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogSource, ContainerLogSource>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogSource, ServiceLogSource>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogSource, StackLogSource>());
        services.AddHostLogSources();
        services.TryAddSingleton<IResolveInvalidation, Events.ResolveInvalidation>();
        return services;
    }
}
