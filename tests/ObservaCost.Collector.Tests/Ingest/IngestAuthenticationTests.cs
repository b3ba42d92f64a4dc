using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Security;
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

    /// <summary>The ingest scheme as the collector registers it, over <paramref name="options"/> and a fake clock.</summary>
    private static ServiceProvider Services(IngestAuthOptions options, TimeProvider clock)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(clock);
        services.AddSingleton(Options.Create(options));
        services.AddIngestAuthentication();
        return services.BuildServiceProvider();
    }

    /// <summary>Authenticates one request from <paramref name="address"/> with the ingest handler: the caller, or null and the refusal.</summary>
    private static async Task<(IngestCaller? Caller, TokenRefusal? Refusal)> AuthenticateAsync(IServiceProvider services, string? authorization, string address = "203.0.113.5", string? query = null)
    {
        // One scope per request, as a host gives each request (the handler provider caches its handlers per scope).
        await using AsyncServiceScope scope = services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        if (query is not null)
        {
            context.Request.QueryString = new QueryString(query);
        }

        AuthenticateResult result = await context.AuthenticateAsync(TokenAuthorization.IngestScheme);
        return result.Succeeded ? (IngestCaller.Of(result.Principal), null) : (null, TokenAuthenticationHandler.RefusalOf(context));
    }

    [Fact]
    public async Task Handler_RateLimit_429ThenRecovers_OnAFakeClock()
    {
        var clock = new FakeTimeProvider(T0);
        await using ServiceProvider services = Services(new IngestAuthOptions
        {
            AllowAnonymousLoopback = true,
            Tokens = [new IngestToken { Name = "acme", Tenant = "acme", Sha256 = IngestAuthentication.HashToken("good") }],
            FailureLimit = new AuthFailureLimitOptions { MaxFailures = 3, Window = TimeSpan.FromMinutes(1) },
        }, clock);

        // Three failures (unknown, malformed, unknown scheme) are 401 each.
        foreach (string bad in new[] { "Bearer nope", "Bearer", "Negotiate abc" })
        {
            (IngestCaller? caller, TokenRefusal? error) = await AuthenticateAsync(services, bad);
            Assert.Null(caller);
            Assert.Equal(StatusCodes.Status401Unauthorized, error!.StatusCode);
        }

        // The fourth request, even with the good token, is 429 for the whole window; other addresses are unaffected.
        (IngestCaller? none, TokenRefusal? limited) = await AuthenticateAsync(services, "Bearer good");
        Assert.Null(none);
        Assert.Equal(StatusCodes.Status429TooManyRequests, limited!.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), limited.RetryAfter);
        Assert.Equal("acme", (await AuthenticateAsync(services, "Bearer good", "203.0.113.6")).Caller!.Tenant);

        clock.Advance(TimeSpan.FromSeconds(45));
        (none, limited) = await AuthenticateAsync(services, "Bearer good");
        Assert.Null(none);
        Assert.Equal(TimeSpan.FromSeconds(15), limited!.RetryAfter);

        // At 60 s the window is over: the good token is accepted again.
        clock.Advance(TimeSpan.FromSeconds(15));
        (IngestCaller? accepted, TokenRefusal? noRefusal) = await AuthenticateAsync(services, "Bearer good");
        Assert.Equal("acme", accepted!.Tenant);
        Assert.Null(noRefusal);
    }

    [Fact]
    public async Task Handler_AnonymousLoopback_OnlyWithoutAnyCredential_AndOnlyFromLoopback()
    {
        await using ServiceProvider services = Services(new IngestAuthOptions { AllowAnonymousLoopback = true }, new FakeTimeProvider(T0));
        Assert.Equal("anonymous-loopback", (await AuthenticateAsync(services, null, "::1")).Caller!.Name);

        (IngestCaller? remote, TokenRefusal? error) = await AuthenticateAsync(services, null, "198.51.100.1");
        Assert.Null(remote);
        Assert.Contains("authorization required", error!.Detail, StringComparison.Ordinal);

        (IngestCaller? presented, error) = await AuthenticateAsync(services, null, "127.0.0.1", "?p=");
        Assert.Null(presented);
        Assert.Equal(StatusCodes.Status401Unauthorized, error!.StatusCode);
    }

    [Fact]
    public async Task Handler_FailedAndSuccessfulRequests_NeverLogTheToken()
    {
        await using CollectorHost host = await CollectorHost.StartAsync("--Logging:LogLevel:Default", "Trace");
        using var logs = new CapturedLogs();
        host.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(logs);

        // An unknown token in every form (401 each), then the known token in every form (204 each).
        const string Unknown = "unknown-secret-7c41d9";
        string basic(string token) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("telegraf:" + token));
        foreach ((string path, string? authorization, HttpStatusCode expected) in new (string, string?, HttpStatusCode)[]
        {
            ("/write?precision=s", "Bearer " + Unknown, HttpStatusCode.Unauthorized),
            ("/write?precision=s", "Token " + Unknown, HttpStatusCode.Unauthorized),
            ("/write?precision=s", basic(Unknown), HttpStatusCode.Unauthorized),
            ("/write?precision=s", "Bearer " + CollectorHost.AdminToken, HttpStatusCode.NoContent),
            ("/write?precision=s", "Token " + CollectorHost.AdminToken, HttpStatusCode.NoContent),
            ("/write?precision=s", basic(CollectorHost.AdminToken), HttpStatusCode.NoContent),
        })
        {
            using HttpResponseMessage response = await host.Client.SendAsync(Request(path, authorization, "text/plain"));
            Assert.Equal(expected, response.StatusCode);
        }

        // The capture saw the authentications (the handler's logs at Trace), but neither token.
        Assert.Contains(logs.Messages, m => m.Contains(TokenAuthorization.IngestScheme, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(Unknown, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(CollectorHost.AdminToken, StringComparison.Ordinal));
    }

    [Fact]
    public void Options_InvalidFailureLimit_NamesTheKey()
    {
        ValidateOptionsResult result = new IngestAuthOptionsValidator().Validate(null, new IngestAuthOptions { FailureLimit = new AuthFailureLimitOptions { MaxFailures = 0 } });
        Assert.True(result.Failed);
        Assert.Contains("Collector:Auth:FailureLimit:MaxFailures", result.FailureMessage, StringComparison.Ordinal);
    }
}
