using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace LogsMigration.Docker.HostLogs;

public static class HostLogServiceCollectionExtensions
{
    /// <summary>
    /// The host and daemon log sources (each one <see cref="ILogSource"/> beside the container and service sources,
    /// nothing else to wire) and the start-up removal of reader containers an earlier run left behind.
    /// </summary>
    public static IServiceCollection AddHostLogSources(this IServiceCollection services)
    {
        services.TryAddSingleton<HostLogLocator>();
        services.TryAddSingleton<HostLogReader>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogSource, HostLogSource>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogSource, DaemonLogSource>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReaderContainerCleanup>());
        return services;
    }
}
