using LogsMigration.Api.Auth;
using LogsMigration.Api.Operations;
using LogsMigration.Docker;
using LogsMigration.Docker.Listing;
using LogsMigration.Pipeline.Sources;
using Microsoft.AspNetCore.Mvc;

namespace LogsMigration.Api.Listing;

public static class ListingApi
{
    /// <summary>Tells a client of <c>…/services</c> and <c>…/stacks</c> why Swarm's part is empty (<c>worker</c>, <c>none</c>).</summary>
    public const string SwarmRoleHeader = "X-Swarm-Role";

    /// <summary>
    /// What can be watched, for viewers: <c>GET /api/v1/hosts</c>, and per host <c>…/containers</c>, <c>…/services</c>,
    /// <c>…/stacks</c>, read from Docker on each call. The events feed is <see cref="HostEventsRoute"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapListingApi(this IEndpointRouteBuilder app)
    {
        var listing = app.MapGroup("/api/v1").RequireAuthorization(AuthPolicies.Viewer).WithTags("Listing");
        listing.MapGet("/hosts", ListHostsAsync)
            .Produces<IReadOnlyList<HostSummary>>();
        listing.MapGet("/hosts/{host_id}/containers", ListContainersAsync)
            .Produces<IReadOnlyList<ContainerSummary>>().ProducesHostErrors();
        listing.MapGet("/hosts/{host_id}/services", ListServicesAsync)
            .Produces<IReadOnlyList<ServiceSummary>>().ProducesHostErrors();
        listing.MapGet("/hosts/{host_id}/stacks", ListStacksAsync)
            .Produces<IReadOnlyList<StackSummary>>().ProducesHostErrors();
        return app;
    }

    private static async Task<IResult> ListHostsAsync(DockerCatalog catalog, CancellationToken cancellationToken) =>
        Results.Ok(await catalog.ListHostsAsync(cancellationToken));

    private static Task<IResult> ListContainersAsync([FromRoute(Name = "host_id")] string hostId, DockerCatalog catalog, DockerHosts hosts, CancellationToken cancellationToken) =>
        OnHostAsync(hostId, hosts, async () => Results.Ok(await catalog.ListContainersAsync(hostId, cancellationToken)));

    private static Task<IResult> ListServicesAsync([FromRoute(Name = "host_id")] string hostId, DockerCatalog catalog, DockerHosts hosts, HttpResponse response, CancellationToken cancellationToken) =>
        OnHostAsync(hostId, hosts, async () => WithRole(response, await catalog.ListServicesAsync(hostId, cancellationToken)));

    private static Task<IResult> ListStacksAsync([FromRoute(Name = "host_id")] string hostId, DockerCatalog catalog, DockerHosts hosts, HttpResponse response, CancellationToken cancellationToken) =>
        OnHostAsync(hostId, hosts, async () => WithRole(response, await catalog.ListStacksAsync(hostId, cancellationToken)));

    private static IResult WithRole<T>(HttpResponse response, SwarmListing<T> listing)
    {
        response.Headers[SwarmRoleHeader] = listing.SwarmRole;
        return Results.Ok(listing.Items);
    }

    /// <summary>An unknown host is 404 <c>not_found</c> before Docker is asked; Docker's failures keep their codes.</summary>
    private static async Task<IResult> OnHostAsync(string hostId, DockerHosts hosts, Func<Task<IResult>> list)
    {
        if (!hosts.Contains(hostId))
            return HttpErrors.Result(Streaming.ErrorCodes.NotFound, $"Unknown Docker host '{hostId}'.", StatusCodes.Status404NotFound);
        try
        {
            return await list();
        }
        catch (LogSourceException ex)
        {
            return HttpErrors.For(ex);
        }
    }

    private static RouteHandlerBuilder ProducesHostErrors(this RouteHandlerBuilder builder) => builder
        .Produces<HttpErrorBody>(StatusCodes.Status404NotFound)
        .Produces<HttpErrorBody>(StatusCodes.Status502BadGateway)
        .Produces<HttpErrorBody>(StatusCodes.Status503ServiceUnavailable);
}
