using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using LogsMigration.Api.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LogsMigration.Tests.Unit.Api;

/// <summary>
/// Every mapped endpoint, found by enumerating the service's <see cref="EndpointDataSource"/>: a new endpoint is
/// checked without anyone listing it here. Each must carry a role policy (or be one of the few open on purpose), and
/// refuse a missing, expired, refresh, badly signed or too-low token with the documented code: HTTP with 401/403 and
/// <c>{"error":{"code","message"}}</c>, WebSocket routes in-band with an <c>error</c> frame and close 1008.
/// </summary>
public sealed class EndpointAuthorizationTests : IAsyncLifetime
{
    /// <summary>Open without a token, as they were before policies: probes, Prometheus and the OpenAPI document.</summary>
    private static readonly HashSet<string> OpenOnPurpose = ["/healthz", "/readyz", "/metrics", "/openapi/{documentName}.json"];

    private static readonly Dictionary<string, string> RouteValues = new()
    {
        ["host_id"] = "local",
        ["endpoint"] = "container",
        ["container_id"] = "web-1",
        ["service_id"] = "svc",
        ["stack_name"] = "stk",
        ["documentName"] = "v1",
    };

    private readonly ApiFactory _api = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static IEnumerable<(string Name, Func<UserRole, string?> Token, string Code)> BadTokens() =>
    [
        ("missing", _ => null, "unauthorized"),
        ("expired", required => ApiFactory.Token(role: Role(required), expiresIn: TimeSpan.FromMinutes(-5)), "token_expired"),
        ("refresh", required => ApiFactory.Token(role: Role(required), type: "refresh"), "token_not_access"),
        ("bad-signature", required => ApiFactory.Token(role: Role(required), key: "another-signing-key-that-is-also-long-enough"), "token_invalid"),
        ("role-too-low", required => ApiFactory.Token(role: Role(required - 1)), "forbidden"),
    ];

    [Fact]
    public async Task EveryEndpoint_HasAPolicy_AndRefusesBadTokensWithTheDocumentedError()
    {
        var endpoints = Endpoints();
        Assert.Contains(endpoints, e => e.Pattern == "/api/v1/hosts/{host_id}/containers");
        Assert.Contains(endpoints, e => e.Pattern == "/ws/hosts/{host_id}/events");
        Assert.Contains(endpoints, e => e.Pattern == "/admin/streams");

        var failures = new List<string>();
        var open = endpoints.Where(e => e.Anonymous).Select(e => e.Pattern).ToHashSet();
        if (!open.SetEquals(OpenOnPurpose))
            failures.Add($"open endpoints are [{string.Join(", ", open.Order())}], expected [{string.Join(", ", OpenOnPurpose.Order())}]");

        using var http = _api.CreateClient();
        foreach (var endpoint in endpoints.Where(e => !e.Anonymous))
        {
            if (endpoint.Required is not { } required)
            {
                failures.Add($"{endpoint.Pattern}: no role policy (RequireAuthorization with one of AuthPolicies, or AllowAnonymous on purpose)");
                continue;
            }
            foreach (var (name, token, code) in BadTokens())
            {
                var got = endpoint.WebSocket
                    ? await RefuseWebSocketAsync(endpoint.Path, token(required))
                    : await RefuseHttpAsync(http, endpoint.Methods, endpoint.Path, token(required));
                var expected = endpoint.WebSocket ? $"{code} 1008" : $"{code} {(code == "forbidden" ? 403 : 401)}";
                if (got != expected)
                    failures.Add($"{endpoint.Pattern} with a {name} token: got '{got}', expected '{expected}'");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task EveryHttpEndpoint_IgnoresAQueryToken_UnlessItOptsIn()
    {
        var endpoints = Endpoints().Where(e => !e.WebSocket && !e.Anonymous && e.Required is not null).ToList();
        Assert.Contains(endpoints, e => e.QueryToken && e.Pattern == "/api/v1/logs/{kind}/{id}/download");
        using var http = _api.CreateClient();
        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            // A valid token of the role required, in the URL only: only an endpoint that opted in may take it.
            var token = ApiFactory.Token(role: Role(endpoint.Required!.Value));
            foreach (var method in endpoint.Methods)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), $"{endpoint.Path}?token={token}");
                using var response = await http.SendAsync(request);
                var refused = response.StatusCode is HttpStatusCode.Unauthorized;
                if (endpoint.QueryToken == refused)
                    failures.Add($"{method} {endpoint.Pattern} with a query token: {(int)response.StatusCode}, expected {(endpoint.QueryToken ? "it taken" : "401 (header only)")}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task AdminEndpoint_TakesTheHeader_NotTheQuery()
    {
        using var http = _api.CreateClient();
        var admin = ApiFactory.Token(role: "admin");
        using var queried = await http.GetAsync($"/admin/streams?token={admin}");
        Assert.Equal(HttpStatusCode.Unauthorized, queried.StatusCode);
        Assert.Equal("unauthorized", JsonDocument.Parse(await queried.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/streams");
        request.Headers.Authorization = new("Bearer", admin);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    private async Task<string> RefuseHttpAsync(HttpClient http, IReadOnlyList<string> methods, string path, string? token)
    {
        var results = new List<string>();
        foreach (var method in methods)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (token is not null)
                request.Headers.Authorization = new("Bearer", token);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            string code;
            try
            {
                var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
                code = error.GetProperty("code").GetString()!;
                if (string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()))
                    code += " (no message)";
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                code = $"body '{body}'";
            }
            results.Add($"{code} {(int)response.StatusCode}");
        }
        return string.Join(" | ", results.Distinct());
    }

    private async Task<string> RefuseWebSocketAsync(string path, string? token)
    {
        using var socket = await _api.Connect(token is null ? path : $"{path}?token={token}");
        var (frames, status, _) = await Frames.UntilClosed(socket);
        var error = frames.SingleOrDefault(f => f.Type() == "error");
        return $"{(error.ValueKind == JsonValueKind.Undefined ? $"frames {frames.Count}" : error.Str("code"))} {(int?)status}";
    }

    private static string Role(UserRole role) => role == UserRole.None ? "guest" : role.ToString().ToLowerInvariant();

    private sealed record MappedEndpoint(string Pattern, string Path, IReadOnlyList<string> Methods, bool WebSocket, bool Anonymous, UserRole? Required, bool QueryToken);

    private List<MappedEndpoint> Endpoints()
    {
        var source = _api.Services.GetRequiredService<EndpointDataSource>();
        var policies = _api.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthorizationOptions>>().Value;
        var rows = new List<MappedEndpoint>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var path = pattern;
            foreach (var parameter in endpoint.RoutePattern.Parameters)
                path = path.Replace($"{{{parameter.Name}}}", RouteValues.GetValueOrDefault(parameter.Name, "x"), StringComparison.Ordinal);
            var metadata = endpoint.Metadata;
            var policy = metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is not null);
            var required = policy is null ? (UserRole?)null
                : policies.GetPolicy(policy)?.Requirements.OfType<MinimumRoleRequirement>().SingleOrDefault()?.Role;
            rows.Add(new MappedEndpoint(
                pattern,
                path,
                metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"],
                metadata.GetMetadata<InBandAuthorization>() is not null,
                metadata.GetMetadata<IAllowAnonymous>() is not null,
                required,
                metadata.GetMetadata<QueryTokenAllowed>() is not null));
        }
        return rows;
    }
}
