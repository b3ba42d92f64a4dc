using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Api;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>The API's start-up checks, its response limit and its OpenAPI document, on hosts of their own.</summary>
public sealed class AnalyticsApiHostingTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task OpenApi_Document_DescribesEveryEndpointAndParameter()
    {
        (HttpResponseMessage response, JsonElement document) = await fixture.Host.GetAsync(AnalyticsApiEndpoints.OpenApiPath, token: null);

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("http", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("type").GetString());
        JsonElement paths = document.GetProperty("paths");
        string[] windowed = ["from", "groupBy", "step", "to"];
        var expectedParameters = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["/api/v1/anomalies"] = ["detector", "entity", "entityKind", "from", "series", "severity", "to"],
            ["/api/v1/cost"] = windowed,
            ["/api/v1/forecast"] = ["from", "model", "series", "to"],
            ["/api/v1/idle"] = windowed,
            ["/api/v1/kpis"] = windowed,
            ["/api/v1/reports"] = ["comparePrevious", "format", "from", "to"],
        };
        Assert.Equal(expectedParameters.Keys, paths.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (JsonProperty path in paths.EnumerateObject())
        {
            JsonElement get = path.Value.GetProperty("get");
            Assert.False(string.IsNullOrWhiteSpace(get.GetProperty("summary").GetString()), path.Name);
            Assert.False(string.IsNullOrWhiteSpace(get.GetProperty("description").GetString()), path.Name);
            var parameters = get.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, StringComparer.Ordinal);
            Assert.Equal(expectedParameters[path.Name], parameters.Keys.Order(StringComparer.Ordinal));
            foreach ((string name, JsonElement parameter) in parameters)
            {
                Assert.Equal("query", parameter.GetProperty("in").GetString());
                Assert.False(string.IsNullOrWhiteSpace(parameter.GetProperty("description").GetString()), $"{path.Name} {name}");
                bool required = parameter.TryGetProperty("required", out JsonElement r) && r.GetBoolean();
                Assert.Equal(name is "from" or "to" && path.Name != "/api/v1/forecast", required);
            }

            JsonElement responses = get.GetProperty("responses");
            foreach (string status in new[] { "200", "400", "401", "413" })
            {
                Assert.True(responses.TryGetProperty(status, out _), $"{path.Name} documents {status}");
            }

            Assert.True(responses.GetProperty("400").GetProperty("content").TryGetProperty("application/problem+json", out _));
        }

        foreach (string adminOnly in new[] { "/api/v1/idle", "/api/v1/anomalies", "/api/v1/forecast", "/api/v1/reports" })
        {
            Assert.True(paths.GetProperty(adminOnly).GetProperty("get").GetProperty("responses").TryGetProperty("403", out _), $"{adminOnly} documents 403");
        }

        Assert.Contains("critical", paths.GetProperty("/api/v1/anomalies").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "severity").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("gpu_model", paths.GetProperty("/api/v1/cost").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "groupBy").GetProperty("description").GetString(), StringComparison.Ordinal);
        string schemas = document.GetProperty("components").GetProperty("schemas").GetRawText();
        foreach (string field in new[] { "costPerMillionTokensUsd", "tokensPerKilowattHour", "idleShare", "roiRatio", "gpuEnergyJoules", "expectedValue", "magnitude", "issuedAt", "lowerBound", "upperBound" })
        {
            Assert.Contains($"\"{field}\"", schemas, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Analytics:Api:MaxRows", "3", "/api/v1/cost?{0}&step=1h&groupBy=pool", HttpStatusCode.RequestEntityTooLarge, "more than 3 rows (Analytics:Api:MaxRows)", "/api/v1/cost?{0}&groupBy=pool", 2)]
    [InlineData("Analytics:Api:MinStep", "06:00:00", "/api/v1/kpis?{0}&step=2h", HttpStatusCode.BadRequest, "finer than the smallest step served, 6h", "/api/v1/kpis?{0}&step=6h", 7)]
    [InlineData("Analytics:Windows:WindowLength", "02:00:00", "/api/v1/idle?{0}&step=1h", HttpStatusCode.BadRequest, "cost and idle are computed in 2h windows", "/api/v1/cost?{0}", 0)]
    [InlineData("Analytics:Api:MaxRange", "02:00:00", "/api/v1/cost?{0}", HttpStatusCode.BadRequest, "the limit is 2 hours (Analytics:Api:MaxRange)", "/api/v1/cost?from=2026-03-02T00:00:00Z&to=2026-03-02T02:00:00Z", 1)]
    public async Task Limits_Configured_RefuseWithTheReasonAndAnswerWithin(string key, string value, string refused, HttpStatusCode status, string reason, string accepted, int acceptedRows)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store, new Dictionary<string, string?> { [key] = value });

        (HttpResponseMessage response, JsonElement body) = await host.GetAsync(string.Format(CultureInfo.InvariantCulture, refused, ApiFixture.WholeRange), ApiHost.AdminToken);
        using (response)
        {
            ApiAssert.Problem(response, body, status, reason);
        }

        JsonElement within = await host.GetOkAsync(string.Format(CultureInfo.InvariantCulture, accepted, ApiFixture.WholeRange), ApiHost.AdminToken);
        // Only windows of the configured length are read: the store holds 1 h windows, none of 2 h.
        Assert.Equal(acceptedRows, within.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task AnonymousLoopback_Enabled_ReadsAsAdminWithoutAToken_ButAWrongTokenStillFails()
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store, new Dictionary<string, string?> { ["Analytics:Api:AllowAnonymousLoopback"] = "true" });

        (HttpResponseMessage idle, _) = await host.GetAsync("/api/v1/idle?" + ApiFixture.WholeRange, token: null);
        using (idle)
        {
            Assert.Equal(HttpStatusCode.OK, idle.StatusCode); // idle is admin-only
        }

        (HttpResponseMessage wrong, JsonElement body) = await host.GetAsync("/api/v1/cost?" + ApiFixture.WholeRange, "not-a-token");
        using (wrong)
        {
            ApiAssert.Problem(wrong, body, HttpStatusCode.Unauthorized, "the token is not known");
        }
    }

    [Fact]
    public async Task Store_Unreachable_503ProblemWithRetryAfter()
    {
        using var http = new HttpClient();
        var options = new InfluxDbOptions
        {
            Url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{InfluxDbServer.FreePort()}/")),
            CreateDatabase = false,
            RetryInitialDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxElapsed = TimeSpan.FromMilliseconds(200),
        };
        await using ApiHost host = await ApiHost.StartAsync(new InfluxDbStore(http, options, TimeProvider.System, NullLogger<InfluxDbStore>.Instance));

        (HttpResponseMessage response, JsonElement body) = await host.GetAsync("/api/v1/cost?" + ApiFixture.WholeRange, ApiHost.AdminToken);
        using (response)
        {
            ApiAssert.Problem(response, body, HttpStatusCode.ServiceUnavailable, "could not be reached");
            Assert.Equal("30", response.Headers.RetryAfter?.ToString());
        }
    }

    [Fact]
    public async Task Options_InvalidTokensAndLimits_FailAtStartNamingEveryKey()
    {
        await using WebApplication app = ApiHost.Build(fixture.Store, new Dictionary<string, string?>
        {
            ["Analytics:Api:Tokens:0:Sha256"] = "not-a-hash",
            ["Analytics:Api:Tokens:1:Admin"] = "false",
            ["Analytics:Api:Tokens:1:Tenant"] = null,
            ["Analytics:Api:Tokens:2:Admin"] = "true",
            ["Analytics:Api:MaxRows"] = "0",
            ["Analytics:Api:MinStep"] = "00:00:30",
        });

        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Analytics:Api:Tokens:0:Sha256 must be the 64 hex digits", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Analytics:Api:Tokens:1 must have either Analytics:Api:Tokens:1:Tenant", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not neither", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Analytics:Api:Tokens:2 must have either", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not both", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Analytics:Api:MaxRows must be at least 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Analytics:Api:MinStep must be a whole number of minutes", ex.Message, StringComparison.Ordinal);
    }
}
