using LogsMigration.Pipeline.Model;

namespace LogsMigration.Api.Streaming;

public static class LogRoutes
{
    /// <summary>
    /// The five WebSocket routes of the frontend contract, unchanged. The service route lives under <c>/api/v1</c>
    /// and the others under <c>/ws</c>, because the frontend builds them from different bases; one process serves both.
    /// </summary>
    public static IEndpointRouteBuilder MapLogStreamRoutes(this IEndpointRouteBuilder app)
    {
        Map(app, "/ws/containers/{container_id}/logs", LogSourceType.Container, "container_id");
        Map(app, "/api/v1/services/{service_id}/logs", LogSourceType.Service, "service_id");
        Map(app, "/ws/hosts/{host_id}/logs", LogSourceType.Host, "host_id");
        Map(app, "/ws/daemon/{host_id}/logs", LogSourceType.Daemon, "host_id");
        Map(app, "/ws/stacks/{stack_name}/logs", LogSourceType.Stack, "stack_name");
        return app;
    }

    private static void Map(IEndpointRouteBuilder app, string pattern, LogSourceType sourceType, string parameter) =>
        app.Map(pattern, (HttpContext context, LogSessionHandler handler) =>
                handler.HandleAsync(context, sourceType, context.GetRouteValue(parameter) as string))
            .WithName($"{sourceType.ToWire()}-logs");
}
