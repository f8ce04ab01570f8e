using LogsMigration.Api.Auth;
using LogsMigration.Docker.Listing;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LogsMigration.Api.Listing;

public static class ListingExtensions
{
    /// <summary>The listings and the events feed: the Docker catalog and event hub, and the feed's sessions.</summary>
    public static WebApplicationBuilder AddListing(this WebApplicationBuilder builder)
    {
        builder.Services.AddDockerListing(builder.Configuration);
        builder.Services.TryAddSingleton<OriginPolicy>();
        builder.Services.TryAddSingleton<HostEventsSession>();
        return builder;
    }
}
