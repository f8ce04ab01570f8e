using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LogsMigration.Pipeline.Query;

public static class QueryServiceCollectionExtensions
{
    /// <summary>The query side: <see cref="QueryOptions"/> (section <c>Query</c>, validated at start-up) and <see cref="LogQueries"/>.</summary>
    public static IServiceCollection AddLogQueries(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<QueryOptions>().Bind(configuration.GetSection(QueryOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QueryOptions>, QueryOptions.Validator>());
        services.TryAddSingleton<LogQueries>();
        return services;
    }
}
