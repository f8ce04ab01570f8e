using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>Host, daemon and stack logs have no legacy path: the rollout API says so instead of offering a flag.</summary>
public sealed class UnifiedOnlyKindsTests
{
    [Fact]
    public async Task AdminFlags_ListsTheKindsWithoutAFlagAsUnifiedOnly_AndRefusesAFlagForThem()
    {
        using var api = new ApiFactory();
        using var http = api.CreateClient();

        var list = new HttpRequestMessage(HttpMethod.Get, "/admin/flags");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        var body = JsonDocument.Parse(await (await http.SendAsync(list)).Content.ReadAsStringAsync()).RootElement;
        var set = new HttpRequestMessage(HttpMethod.Put, "/admin/flags/stack") { Content = JsonContent.Create(new { unified = false }) };
        set.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.Token(role: "admin"));
        using var refused = await http.SendAsync(set);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(["container", "service"], body.GetProperty("flags").EnumerateArray().Select(f => f.GetProperty("endpoint").GetString()));
        Assert.Equal(["host", "daemon", "stack"], body.GetProperty("unified_only").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("exist only on the unified path", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
