using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ObservaCost.Hosting;
using ObservaCost.Testing;

namespace ObservaCost.Hosts.Tests.Hosting;

/// <summary>/healthz and /readyz as every host maps them, and the content root rule.</summary>
public sealed class HealthEndpointsTests
{
    [Fact]
    public async Task Readyz_OneFailingReadyCheck_Answers503NamingItAndHealthzStays200()
    {
        int port = InfluxDbServer.FreePort();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(["--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")]);
        builder.Services.AddHealthChecks()
            .AddCheck("store", () => HealthCheckResult.Healthy("answers"), tags: [HealthEndpoints.ReadyTag])
            .AddCheck("scheduler", () => HealthCheckResult.Unhealthy("not started"), tags: [HealthEndpoints.ReadyTag])
            .AddCheck("not-for-readiness", () => HealthCheckResult.Unhealthy("ignored"));
        await using WebApplication app = builder.Build();
        app.MapHealthEndpoints();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")) };

        using HttpResponseMessage health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using HttpResponseMessage ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        // The overall status, then the failing ready check only (the healthy one and the untagged one are not listed).
        Assert.Equal("Unhealthy\nscheduler: not started", await ready.Content.ReadAsStringAsync());
        await app.StopAsync();
    }

    [Fact]
    public void HostContentRoot_NotSet_IsTheBinaryFolder_AndACommandLineValueIsLeftToTheHost()
    {
        Assert.Equal(AppContext.BaseDirectory, HostContentRoot.Options(["--Key", "v"]).ContentRootPath);
        Assert.Null(HostContentRoot.Options(["--contentRoot", Path.GetTempPath()]).ContentRootPath);
    }
}
