using LogsMigration.Api;
using LogsMigration.Api.Auth;
using LogsMigration.Api.Listing;
using LogsMigration.Api.Observability;
using LogsMigration.Api.Operations;
using LogsMigration.Api.Query;
using LogsMigration.Api.Rollout;
using LogsMigration.Api.Streaming;
using LogsMigration.Api.Viewer;

var builder = WebApplication.CreateBuilder(args);
builder.AddLogStreaming();
builder.AddApiAuthorization();
builder.AddListing();
builder.AddApiDocument();
builder.AddTelemetry();
builder.AddViewer();

var app = builder.Build();
app.UseLogStreaming();
app.UseViewer();
app.UseApiAuthorization();
var webSockets = app.MapWebSocketGroup(AuthPolicies.Viewer);
webSockets.MapLogStreamRoutes();
webSockets.MapHostEvents();
app.MapOperationsApi();
app.MapRolloutApi();
app.MapListingApi();
app.MapDownloadApi();
app.MapMetrics();
app.MapApiDocument();
app.Run();

/// <summary>Entry point; public so WebApplicationFactory can start the service in tests.</summary>
public partial class Program;
