using LogsMigration.Api;
using LogsMigration.Api.Observability;
using LogsMigration.Api.Operations;
using LogsMigration.Api.Query;
using LogsMigration.Api.Rollout;
using LogsMigration.Api.Streaming;

var builder = WebApplication.CreateBuilder(args);
builder.AddLogStreaming();
builder.AddTelemetry();

var app = builder.Build();
app.UseLogStreaming();
app.MapLogStreamRoutes();
app.MapOperationsApi();
app.MapRolloutApi();
app.MapDownloadApi();
app.MapMetrics();
app.Run();

/// <summary>Entry point; public so WebApplicationFactory can start the service in tests.</summary>
public partial class Program;
