using LogsMigration.Docker.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Listing;

public static class ListingServiceCollectionExtensions
{
    /// <summary>
    /// What can be watched: <see cref="ListingOptions"/> (section <c>Listing</c>, validated at start-up), the
    /// <see cref="DockerCatalog"/> and the shared per-host <see cref="HostEventHub"/>. Needs <see cref="DockerHosts"/>
    /// (<c>AddDockerLogSources</c>).
    /// </summary>
    public static IServiceCollection AddDockerListing(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ListingOptions>().Bind(configuration.GetSection(ListingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ListingOptions>, ListingOptions.Validator>());
        services.TryAddSingleton<DockerCatalog>();
        services.TryAddSingleton<IHostEventSource, DockerHostEventSource>();
        services.TryAddSingleton<HostEventHub>();
        return services;
    }
}
