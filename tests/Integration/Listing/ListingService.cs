using System.Net.Http.Headers;
using System.Text.Json;
using LogsMigration.Tests.Integration.Api;
using LogsMigration.Tests.Integration.Infrastructure;

namespace LogsMigration.Tests.Integration.Listing;

/// <summary>
/// The service as a process with the three test engines as hosts <c>main</c> (manager), <c>worker</c> and
/// <c>second</c> (outside any swarm), and a host <c>down</c> whose socket does not exist.
/// </summary>
public sealed class ListingService : IAsyncLifetime
{
    public const string DownSocket = "unix:///nonexistent/lmit-down.sock";

    public ServiceProcess Service { get; private set; } = null!;
    public HttpClient Viewer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Service = await ServiceProcess.StartAsync(new Dictionary<string, string>
        {
            ["Docker:DefaultHost"] = TestEngines.Main,
            ["Docker:Hosts:main:Endpoint"] = TestEngines.Endpoint(TestEngines.Main),
            ["Docker:Hosts:worker:Endpoint"] = TestEngines.Endpoint(TestEngines.Worker),
            ["Docker:Hosts:second:Endpoint"] = TestEngines.Endpoint(TestEngines.Second),
            ["Docker:Hosts:down:Endpoint"] = DownSocket,
            // Only a failing call waits this long: the engines share two cores with every other suite.
            ["Listing:HostTimeout"] = "00:01:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        });
        Viewer = new HttpClient { BaseAddress = Service.BaseUri };
        Viewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceProcess.Token("viewer"));
    }

    public async Task<(JsonElement Body, HttpResponseMessage Response)> GetAsync(string path)
    {
        var response = await Viewer.GetAsync(path);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (body, response);
    }

    public async Task DisposeAsync()
    {
        Viewer.Dispose();
        await Service.DisposeAsync();
    }
}
