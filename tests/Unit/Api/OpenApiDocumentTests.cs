using System.Net;
using System.Text.Json;

namespace LogsMigration.Tests.Unit.Api;

public sealed class OpenApiDocumentTests
{
    [Fact]
    public async Task Document_IsServedWithoutAToken_AndDescribesTheListingAndAdminEndpoints()
    {
        await using var api = new ApiFactory();
        using var http = api.CreateClient();
        using var response = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("http", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("type").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/hosts", "/api/v1/hosts/{host_id}/containers", "/api/v1/hosts/{host_id}/services", "/api/v1/hosts/{host_id}/stacks", "/admin/streams", "/admin/flags/{endpoint}" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the document");
        var containers = paths.GetProperty("/api/v1/hosts/{host_id}/containers").GetProperty("get").GetProperty("responses");
        Assert.True(containers.TryGetProperty("200", out _));
        Assert.True(containers.TryGetProperty("404", out _));
        // WebSocket routes are described in docs/protocol.md: they have no HTTP method to document.
        Assert.False(paths.TryGetProperty("/ws/hosts/{host_id}/events", out _));
    }
}
