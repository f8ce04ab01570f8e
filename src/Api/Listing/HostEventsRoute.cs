namespace LogsMigration.Api.Listing;

public static class HostEventsRoute
{
    /// <summary>
    /// <c>/ws/hosts/{host_id}/events</c>: containers and services of a host appearing, changing state and going away.
    /// Map it in a <c>MapWebSocketGroup</c> (its token is checked by the viewer policy and refused in-band).
    /// </summary>
    public static IEndpointRouteBuilder MapHostEvents(this IEndpointRouteBuilder app)
    {
        app.Map("/ws/hosts/{host_id}/events", (HttpContext context, HostEventsSession session) =>
                session.HandleAsync(context, context.GetRouteValue("host_id") as string ?? ""))
            .WithName("host-events");
        return app;
    }
}
