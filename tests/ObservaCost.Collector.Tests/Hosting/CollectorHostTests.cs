using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using ObservaCost.NodeCollector;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>The collector host started for real on a loopback port, as the README's run command starts it.</summary>
public sealed class CollectorHostTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-host-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string Url(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");

    [Fact]
    public async Task EmbeddedDefault_StartsHealthyAndReady()
    {
        int port = InfluxDbServer.FreePort();
        await using WebApplication app = NodeCollectorApplication.Build(
        [
            "--urls", Url(port),
            "--Storage:Embedded:Path", Path.Combine(_dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
        ]);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Url(port)) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        HttpResponseMessage ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(File.Exists(Path.Combine(_dir, "store.db")));
        await app.StopAsync();
    }

    [Fact]
    public async Task InfluxBackend_UnreachableStore_StaysReadyWhileTheSpoolTakesWrites()
    {
        int port = InfluxDbServer.FreePort();
        await using WebApplication app = NodeCollectorApplication.Build(
        [
            "--urls", Url(port),
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", Url(InfluxDbServer.FreePort()),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
        ]);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Url(port)) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        HttpResponseMessage ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task InfluxBackend_RealServer_IsReady()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        int port = InfluxDbServer.FreePort();
        await using WebApplication app = NodeCollectorApplication.Build(
        [
            "--urls", Url(port),
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", influx.Url.ToString(),
            "--Collector:Spool:Directory", Path.Combine(_dir, "spool"),
        ]);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Url(port)) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task BadConfiguration_FailsAtStartNamingTheKey()
    {
        await using WebApplication app = NodeCollectorApplication.Build(
        [
            "--urls", Url(InfluxDbServer.FreePort()),
            "--Storage:Backend", "InfluxDb",
            "--Storage:InfluxDb:Url", "ftp://nope",
        ]);
        OptionsValidationException ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Storage:InfluxDb:Url must be an absolute http or https URL", ex.Message, StringComparison.Ordinal);
    }
}
