using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Analytics.Api;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// API authentication: any credential that is presented but is not a known Bearer token is 401 — with anonymous
/// loopback on too, so a tenant token sent under another scheme never reads as admin — and failures are rate-limited
/// per client address (429 with Retry-After, recovery on a fake clock). Every query parameter holding a control
/// character or invalid text is 400 naming it, never 500.
/// </summary>
public sealed class ApiAuthenticationTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private static readonly string Range = ApiFixture.WholeRange;

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> GetRawAsync(ApiHost host, string pathAndQuery, string? authorization)
    {
        using var client = new HttpClient { BaseAddress = host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (authorization is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
        }

        HttpResponseMessage response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static TheoryData<string> PresentedButNotABearerToken => new()
    {
        "Token " + ApiHost.AcmeToken,
        "Token " + ApiHost.AdminToken,
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + ApiHost.AcmeToken)),
        "Basic garbage!",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag",
        "Digest username=\"admin\"",
        "Weird",
    };

    [Theory]
    [MemberData(nameof(PresentedButNotABearerToken))]
    public async Task AnonymousLoopback_PresentedCredentialNotAKnownBearerToken_Is401_NeverAnonymousAdmin(string authorization)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store, new Dictionary<string, string?> { ["Analytics:Api:AllowAnonymousLoopback"] = "true" });

        // /idle is admin-only: read anonymously it would be 200.
        (HttpResponseMessage response, JsonElement body) = await GetRawAsync(host, "/api/v1/idle?" + Range, authorization);
        using (response)
        {
            ApiAssert.Problem(response, body, HttpStatusCode.Unauthorized, "authorization failed");
            Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        (HttpResponseMessage anonymous, _) = await GetRawAsync(host, "/api/v1/idle?" + Range, authorization: null);
        using (anonymous)
        {
            Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        }
    }

    [Fact]
    public async Task Failures_OverTheLimit_429WithRetryAfter_EvenForAdmin_ThenRecoverOnTheClock()
    {
        var clock = new FakeTimeProvider(ApiFleet.End.AddDays(1));
        await using ApiHost host = await ApiHost.StartAsync(
            fixture.Store,
            new Dictionary<string, string?> { ["Analytics:Api:FailureLimit:MaxFailures"] = "2", ["Analytics:Api:FailureLimit:Window"] = "00:10:00" },
            clock);
        string cost = "/api/v1/cost?" + Range;
        await host.GetProblemAsync(cost, "wrong-1", HttpStatusCode.Unauthorized, "the token is not known");
        clock.Advance(TimeSpan.FromMinutes(4));
        await host.GetProblemAsync(cost, "wrong-2", HttpStatusCode.Unauthorized, "the token is not known");

        // Two failures in the window that opened at 0 min: at 4 min, 6 minutes (360 s) of it are left.
        (HttpResponseMessage limited, JsonElement body) = await host.GetAsync(cost, ApiHost.AdminToken);
        using (limited)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            Assert.Equal("360", limited.Headers.GetValues("Retry-After").Single());
            Assert.Contains("too many failed authentication attempts", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        clock.Advance(TimeSpan.FromMinutes(6));
        await host.GetOkAsync(cost, ApiHost.AdminToken);
    }

    [Theory]
    [InlineData("/api/v1/anomalies?{range}&entity=GPU%0D", "entity", "holds the control character U+000D")]
    [InlineData("/api/v1/anomalies?{range}&entity=a%00b", "entity", "holds the control character U+0000")]
    [InlineData("/api/v1/anomalies?{range}&detector=%0Aspectral", "detector", "holds the control character U+000A")]
    [InlineData("/api/v1/anomalies?{range}&series=power%1Fwatts", "series", "holds the control character U+001F")]
    [InlineData("/api/v1/anomalies?{range}&severity=critical%0D", "severity", "holds the control character U+000D")]
    [InlineData("/api/v1/anomalies?{range}&entityKind=%7F", "entityKind", "holds the control character U+007F")]
    [InlineData("/api/v1/anomalies?from=2026-11-21T00:00:00Z%0D&to=2026-11-22T00:00:00Z", "from", "holds the control character U+000D")]
    [InlineData("/api/v1/cost?{range}&groupBy=model%0D", "groupBy", "holds the control character U+000D")]
    [InlineData("/api/v1/cost?{range}&step=1h%00", "step", "holds the control character U+0000")]
    [InlineData("/api/v1/kpis?{range}&unknown=%0D", "unknown", "holds the control character U+000D")]
    [InlineData("/api/v1/forecast?model=llama%0D", "model", "holds the control character U+000D")]
    [InlineData("/api/v1/forecast?series=%C2%85", "series", "holds the control character U+0085")]
    [InlineData("/api/v1/idle?{range}&groupBy={long}", "groupBy", "is 1025 characters long; the limit is 1024")]
    public async Task Parameters_ControlCharactersOrTooLong_Are400NamingTheParameter(string pathAndQuery, string parameter, string reason)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store);
        string path = pathAndQuery.Replace("{range}", Range, StringComparison.Ordinal).Replace("{long}", new string('a', 1025), StringComparison.Ordinal);
        JsonElement body = await host.GetProblemAsync(path, ApiHost.AdminToken, HttpStatusCode.BadRequest, $"'{parameter}' {reason}");
        Assert.Equal($"Invalid '{parameter}'", body.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("/api/v1/forecast?from=9999-12-31T00:00:00Z")]
    [InlineData("/api/v1/forecast?from=253402300799")]
    [InlineData("/api/v1/cost?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z")]
    [InlineData("/api/v1/cost?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z&step=1d")]
    [InlineData("/api/v1/idle?from=0&to=86400&step=1d")]
    [InlineData("/api/v1/kpis?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z")]
    [InlineData("/api/v1/anomalies?from=9999-12-30T00:00:00Z&to=9999-12-31T23:59:59Z")]
    [InlineData("/api/v1/anomalies?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z")]
    [InlineData("/api/v1/cost?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z&step=1d")]
    [InlineData("/api/v1/cost?from=1&to=2&step=100000d")]
    public async Task Parameters_ExtremeTimes_AnswerWithoutAServerError(string pathAndQuery)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store);
        (HttpResponseMessage response, JsonElement body) = await host.GetAsync(pathAndQuery, ApiHost.AdminToken);
        using (response)
        {
            Assert.True((int)response.StatusCode is 200 or 400, $"{pathAndQuery}: {(int)response.StatusCode} {body}");
        }
    }

    [Theory]
    [InlineData("/api/v1/forecast?from=9999-12-31T00:00:00Z", "from", "'from' (9999-12-31T00:00:00Z) is outside the times the store can hold, 1677-09-22T00:00:00Z to 2262-04-11T00:00:00Z.")]
    [InlineData("/api/v1/cost?from=2026-11-21T00:00:00Z&to=2262-04-11T00:00:01Z", "to", "'to' (2262-04-11T00:00:01Z) is outside the times")]
    [InlineData("/api/v1/anomalies?from=1600-01-01T00:00:00Z&to=1600-01-02T00:00:00Z", "from", "'from' (1600-01-01T00:00:00Z) is outside the times")]
    public async Task Parameters_TimesBeyondTheStoresRange_Are400NamingTheParameter(string pathAndQuery, string parameter, string reason)
    {
        await using ApiHost host = await ApiHost.StartAsync(fixture.Store);
        JsonElement body = await host.GetProblemAsync(pathAndQuery, ApiHost.AdminToken, HttpStatusCode.BadRequest, reason);
        Assert.Equal($"Invalid '{parameter}'", body.GetProperty("title").GetString());
    }

    [Fact]
    public void Options_InvalidFailureLimit_NamesTheKey()
    {
        Microsoft.Extensions.Options.ValidateOptionsResult result = new AnalyticsApiOptionsValidator().Validate(null, new AnalyticsApiOptions
        {
            FailureLimit = new Storage.Security.AuthFailureLimitOptions { Window = TimeSpan.Zero },
        });
        Assert.True(result.Failed);
        Assert.Contains("Analytics:Api:FailureLimit:Window", result.FailureMessage, StringComparison.Ordinal);
    }
}
