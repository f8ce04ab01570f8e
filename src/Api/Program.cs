using LogsMigration.Api;
using LogsMigration.Api.Observability;
using LogsMigration.Api.Operations;
using LogsMigration.Api.Rollout;
using LogsMigration.Api.Streaming;
using LogsMigration.Api.Viewer;

var builder = WebApplication.CreateBuilder(args);
builder.AddLogStreaming();
builder.AddTelemetry();
builder.AddViewer();

var app = builder.Build();
app.UseLogStreaming();
app.UseViewer();
app.MapLogStreamRoutes();
app.MapOperationsApi();
app.MapRolloutApi();
app.MapMetrics();
app.Run();

/// <summary>Entry point; public so WebApplicationFactory can start the service in tests.</summary>
public partial class Program;
