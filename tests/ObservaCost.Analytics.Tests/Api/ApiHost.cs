using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Api;
using ObservaCost.Storage;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>A real Kestrel host on 127.0.0.1:0 serving the analytics API over a given store, as a host would wire it.</summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string AdminToken = "oc-admin-7f3a9c";
    public const string AcmeToken = "oc-acme-51d2e8";
    public const string BetaToken = "oc-beta-c04b16";

    private readonly WebApplication _app;
    private readonly HttpClient _client;

    private ApiHost(WebApplication app, Uri address)
    {
        _app = app;
        _client = new HttpClient { BaseAddress = address };
    }

    /// <summary>The host's base address, for requests built by hand.</summary>
    public Uri Address => _client.BaseAddress!;

    /// <summary>The three tokens by hash: admin, acme and beta.</summary>
    public static Dictionary<string, string?> TokenConfig() => new(StringComparer.Ordinal)
    {
        ["Analytics:Api:Tokens:0:Name"] = "finops",
        ["Analytics:Api:Tokens:0:Sha256"] = ApiAuthentication.HashToken(AdminToken),
        ["Analytics:Api:Tokens:0:Admin"] = "true",
        ["Analytics:Api:Tokens:1:Name"] = "acme-dashboard",
        ["Analytics:Api:Tokens:1:Sha256"] = ApiAuthentication.HashToken(AcmeToken).ToUpperInvariant(),
        ["Analytics:Api:Tokens:1:Tenant"] = "acme",
        ["Analytics:Api:Tokens:2:Name"] = "beta-dashboard",
        ["Analytics:Api:Tokens:2:Sha256"] = ApiAuthentication.HashToken(BetaToken),
        ["Analytics:Api:Tokens:2:Tenant"] = "beta",
    };

    /// <summary>Starts the host; <paramref name="time"/> replaces the system clock (the API's "now").</summary>
    public static async Task<ApiHost> StartAsync(ITimeSeriesStore store, IReadOnlyDictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        WebApplication app = Build(store, overrides, time);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ApiHost(app, new Uri(address));
    }

    public static WebApplication Build(ITimeSeriesStore store, IReadOnlyDictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        Dictionary<string, string?> config = TokenConfig();
        foreach (KeyValuePair<string, string?> entry in overrides ?? new Dictionary<string, string?>())
        {
            config[entry.Key] = entry.Value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddSingleton(store);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddAnalyticsApi(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapAnalyticsApi();
        return app;
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> with the token (none when null): the response and its JSON body.</summary>
    public async Task<(HttpResponseMessage Response, JsonElement Body)> GetAsync(string pathAndQuery, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response = await _client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response, body);
    }

    /// <summary>GETs and asserts 200 with JSON.</summary>
    public async Task<JsonElement> GetOkAsync(string pathAndQuery, string token)
    {
        (HttpResponseMessage response, JsonElement body) = await GetAsync(pathAndQuery, token);
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{pathAndQuery}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        return body;
    }

    /// <summary>GETs and asserts a problem answer (<see cref="ApiAssert.Problem"/>): its JSON body.</summary>
    public async Task<JsonElement> GetProblemAsync(string pathAndQuery, string? token, HttpStatusCode status, string reason)
    {
        (HttpResponseMessage response, JsonElement body) = await GetAsync(pathAndQuery, token);
        using (response)
        {
            ApiAssert.Problem(response, body, status, reason);
        }

        return body;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
