using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Security;

namespace ObservaCost.Collector.Tests.Ingest;

/// <summary>
/// A presented credential that is malformed or unknown is 401 on every ingest endpoint, even with anonymous loopback
/// on; only a request presenting nothing from loopback is anonymous; failures are rate-limited per address.
/// </summary>
public sealed class IngestAuthenticationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string?> BadCredentials => new()
    {
        // (path and query, raw Authorization header or null)
        { "/write", "Token tenant-unknown-token" },
        { "/write", "Bearer" },
        { "/write", "Bearer " },
        { "/write", "Basic not-base64!" },
        { "/write", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("telegraf")) },
        { "/write", "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag" },
        { "/write", "Digest username=\"x\"" },
        { "/write", "Weird" },
        { "/write?p=", null },
        { "/write?p=unknown", null },
        { "/api/v2/write", "Token " + CollectorHost.TenantToken + "x" },
        { "/v1/metrics", "Bearer" },
        { "/v1/metrics", "Negotiate abc" },
        { "/api/v1/requests", "Basic !!" },
        { "/api/v1/requests", "Token nope" },
    };

    private static HttpRequestMessage Request(string path, string? authorization, string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("m v=1")) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (authorization is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization));
        }

        return request;
    }

    private static string ContentType(string path) =>
        path.StartsWith("/v1/metrics", StringComparison.Ordinal) ? "application/json"
        : path.StartsWith("/api/v1/requests", StringComparison.Ordinal) ? "application/x-ndjson"
        : "text/plain";

    [Fact]
    public async Task Endpoints_MalformedOrUnknownCredential_Is401_EvenWithAnonymousLoopback()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Collector:Auth:AllowAnonymousLoopback", "true");
        foreach ((string path, string? authorization) in BadCredentials.Select(row => ((string)row[0], (string?)row[1])))
        {
            using HttpResponseMessage response = await host.Client.SendAsync(Request(path, authorization, ContentType(path)));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path} with '{authorization}': {(int)response.StatusCode} {body}");
            Assert.Contains("authorization failed", body, StringComparison.Ordinal);
        }

        // Nothing presented, from loopback: anonymous, as configured.
        using HttpResponseMessage anonymous = await host.Client.SendAsync(Request("/write?precision=s", null, "text/plain"));
        Assert.Equal(HttpStatusCode.NoContent, anonymous.StatusCode);
    }

    [Fact]
    public async Task Endpoint_TooManyFailures_Is429WithRetryAfter_EvenForAGoodToken()
    {
        await using CollectorHost host = await CollectorHost.StartAsync(
            "--Collector:Auth:FailureLimit:MaxFailures", "2", "--Collector:Auth:FailureLimit:Window", "00:10:00");
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Request("/write", "Bearer wrong-1", "text/plain"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Request("/write", "Bearer wrong-2", "text/plain"))).StatusCode);

        using HttpResponseMessage limited = await host.Client.SendAsync(Request("/write", "Bearer " + CollectorHost.AdminToken, "text/plain"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        int retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 590, 600); // the rest of a 10-minute window that opened a moment ago
        Assert.Contains("too many failed authentication attempts", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void Authenticator_RateLimit_429ThenRecovers_OnAFakeClock()
    {
        var clock = new FakeTimeProvider(T0);
        var authenticator = new IngestAuthenticator(Options.Create(new IngestAuthOptions
        {
            AllowAnonymousLoopback = true,
            Tokens = [new IngestToken { Name = "acme", Tenant = "acme", Sha256 = IngestAuthenticator.HashToken("good") }],
            FailureLimit = new AuthFailureLimitOptions { MaxFailures = 3, Window = TimeSpan.FromMinutes(1) },
        }), clock);
        HttpContext Context(string? authorization, string address = "203.0.113.5")
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = IPAddress.Parse(address);
            if (authorization is not null)
            {
                context.Request.Headers.Authorization = authorization;
            }

            return context;
        }

        // Three failures (unknown, malformed, unknown scheme) are 401 each.
        foreach (string bad in new[] { "Bearer nope", "Bearer", "Negotiate abc" })
        {
            Assert.Null(authenticator.Authenticate(Context(bad), out IngestError? error));
            Assert.Equal(StatusCodes.Status401Unauthorized, error!.StatusCode);
        }

        // The fourth request, even with the good token, is 429 for the whole window; other addresses are unaffected.
        Assert.Null(authenticator.Authenticate(Context("Bearer good"), out IngestError? limited));
        Assert.Equal(StatusCodes.Status429TooManyRequests, limited!.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), limited.RetryAfter);
        Assert.Equal("acme", authenticator.Authenticate(Context("Bearer good", "203.0.113.6"), out _)!.Tenant);

        clock.Advance(TimeSpan.FromSeconds(45));
        Assert.Null(authenticator.Authenticate(Context("Bearer good"), out limited));
        Assert.Equal(TimeSpan.FromSeconds(15), limited!.RetryAfter);

        // At 60 s the window is over: the good token is accepted again.
        clock.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal("acme", authenticator.Authenticate(Context("Bearer good"), out IngestError? none)!.Tenant);
        Assert.Null(none);
    }

    [Fact]
    public void Authenticator_AnonymousLoopback_OnlyWithoutAnyCredential_AndOnlyFromLoopback()
    {
        var authenticator = new IngestAuthenticator(Options.Create(new IngestAuthOptions { AllowAnonymousLoopback = true }), new FakeTimeProvider(T0));
        var loopback = new DefaultHttpContext();
        loopback.Connection.RemoteIpAddress = IPAddress.IPv6Loopback;
        Assert.Equal("anonymous-loopback", authenticator.Authenticate(loopback, out _)!.Name);

        var remote = new DefaultHttpContext();
        remote.Connection.RemoteIpAddress = IPAddress.Parse("198.51.100.1");
        Assert.Null(authenticator.Authenticate(remote, out IngestError? error));
        Assert.Contains("authorization required", error!.Message, StringComparison.Ordinal);

        var presented = new DefaultHttpContext();
        presented.Connection.RemoteIpAddress = IPAddress.Loopback;
        presented.Request.QueryString = new QueryString("?p=");
        Assert.Null(authenticator.Authenticate(presented, out error));
        Assert.Equal(StatusCodes.Status401Unauthorized, error!.StatusCode);
    }

    [Fact]
    public void Options_InvalidFailureLimit_NamesTheKey()
    {
        ValidateOptionsResult result = new IngestAuthOptionsValidator().Validate(null, new IngestAuthOptions { FailureLimit = new AuthFailureLimitOptions { MaxFailures = 0 } });
        Assert.True(result.Failed);
        Assert.Contains("Collector:Auth:FailureLimit:MaxFailures", result.FailureMessage, StringComparison.Ordinal);
    }
}
