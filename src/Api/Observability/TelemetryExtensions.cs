using LogsMigration.Pipeline.Observability;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LogsMigration.Api.Observability;

public static class TelemetryExtensions
{
    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Metrics and traces in one place: the service's own instruments (<see cref="LogMetrics"/>), ASP.NET Core,
    /// Kestrel and runtime instrumentation, a Prometheus scrape endpoint, and OTLP only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// Traces have no exporter but OTLP, so tracing is registered only then: a listener with nowhere to send would
    /// make every WebSocket keep two sampled Activities (the request's and <c>log.session</c>) for its whole life.
    /// </summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("logsmigration"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(LogMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddMeter("Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections")
                    .AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                    metrics.AddOtlpExporter();
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(LogMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
        }
        return builder;
    }

    /// <summary>Prometheus scrapes <c>/metrics</c>.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        // Open, as it always was: Prometheus scrapes without a token.
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
