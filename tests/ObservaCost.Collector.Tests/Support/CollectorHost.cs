using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Collector.Ingest;
using ObservaCost.NodeCollector;
using ObservaCost.SingleMachine;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Support;

/// <summary>
/// The collector started in-process on a free loopback port with its own temp folder (store and spool): the node
/// collector's composition, or with <see cref="StartWithAnalyticsOnDemandAsync(string[])"/> the single-machine host's
/// (collector, analytics jobs and API on the embedded store).
/// </summary>
public sealed class CollectorHost : IAsyncDisposable
{
    public const string TenantToken = "tenant-acme-token";
    public const string AdminToken = "fleet-admin-token";

    private readonly WebApplication _app;

    private CollectorHost(WebApplication app, string dir, int port)
    {
        _app = app;
        Directory = dir;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")) };
    }

    public string Directory { get; }

    public int Port { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public ITimeSeriesStore Store => _app.Services.GetRequiredService<ITimeSeriesStore>();

    /// <summary>Standard settings: embedded store, two tokens (one bound to tenant "acme"), no anonymous access.</summary>
    public static Task<CollectorHost> StartAsync(params string[] extra) => StartAsync(configure: null, extra);

    /// <summary>Standard settings, then <paramref name="configure"/> on the builder (extra services, a manual clock).</summary>
    public static Task<CollectorHost> StartAsync(Action<WebApplicationBuilder>? configure, params string[] extra) =>
        StartAsync(NodeCollectorApplication.Build, configure, extra);

    private static async Task<CollectorHost> StartAsync(Func<string[], Action<WebApplicationBuilder>?, WebApplication> build, Action<WebApplicationBuilder>? configure, string[] extra)
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-collector-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        int port = InfluxDbServer.FreePort();
        string[] args =
        [
            "--urls", string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"),
            "--Storage:Embedded:Path", Path.Combine(dir, "store.db"),
            "--Collector:Spool:Directory", Path.Combine(dir, "spool"),
            "--Collector:Spool:FlushToDisk", "false",
            "--Collector:Auth:AllowAnonymousLoopback", "false",
            "--Collector:Auth:Tokens:0:Name", "acme",
            "--Collector:Auth:Tokens:0:Tenant", "acme",
            "--Collector:Auth:Tokens:0:Sha256", IngestAuthentication.HashToken(TenantToken),
            "--Collector:Auth:Tokens:1:Name", "fleet",
            "--Collector:Auth:Tokens:1:Sha256", IngestAuthentication.HashToken(AdminToken),
            "--Collector:Forwarder:RetryInitialDelay", "00:00:00.100",
            "--Collector:Forwarder:RetryMaxDelay", "00:00:01",
            "--Logging:LogLevel:Default", "Warning",
            .. extra,
        ];
        WebApplication app = build(args, configure);
        await app.StartAsync();
        return new CollectorHost(app, dir, port);
    }

    /// <summary>
    /// The single-machine host (collector, analytics jobs and API in one process) with the standard settings and the
    /// prices and API access it ships with (its appsettings.json), given explicitly: this test project's output holds
    /// the appsettings.json of both hosts it references.
    /// </summary>
    public static Task<CollectorHost> StartSingleMachineAsync(params string[] extra) => StartSingleMachineAsync(configure: null, extra);

    /// <summary>As <see cref="StartSingleMachineAsync(string[])"/>, then <paramref name="configure"/> on the builder (a fake clock).</summary>
    public static Task<CollectorHost> StartSingleMachineAsync(Action<WebApplicationBuilder>? configure, params string[] extra) =>
        StartAsync(
            SingleMachineApplication.Build,
            configure,
            [
                "--Analytics:PricingFile", Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"),
                "--Analytics:Api:AllowAnonymousLoopback", "true",
                .. extra,
            ]);

    /// <summary>The single-machine host with the analytics jobs registered but never fired by their schedule: the test fires them.</summary>
    public static Task<CollectorHost> StartWithAnalyticsOnDemandAsync(params string[] extra) => StartWithAnalyticsOnDemandAsync(configure: null, extra);

    /// <summary>As <see cref="StartWithAnalyticsOnDemandAsync(string[])"/>, then <paramref name="configure"/> on the builder (a fake clock).</summary>
    public static Task<CollectorHost> StartWithAnalyticsOnDemandAsync(Action<WebApplicationBuilder>? configure, params string[] extra)
    {
        const string Never = "0 0 0 1 1 ? 2099";
        return StartSingleMachineAsync(
            configure,
        [
            "--Analytics:Scheduler:RollupCron", Never,
            "--Analytics:Scheduler:CostCron", Never,
            "--Analytics:Scheduler:KpiCron", Never,
            "--Analytics:Scheduler:AnomalyCron", Never,
            "--Analytics:Scheduler:ForecastCron", Never,
            .. extra,
        ]);
    }

    /// <summary>Polls the store until <paramref name="condition"/> holds for a query result (the forwarder is asynchronous).</summary>
    public async Task<QueryResult> WaitForAsync(TimeSeriesQuery query, Func<QueryResult, bool> condition, TimeSpan? timeout = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
        QueryResult result;
        bool heldBefore = false;
        do
        {
            // The condition must hold on two reads in a row: InfluxDB builds one iterator per aggregate, so a read
            // while the forwarder is still writing can see a count that is complete beside a sum that is not.
            result = await Store.QueryAsync(query);
            bool holds = condition(result);
            if (holds && heldBefore)
            {
                return result;
            }

            heldBefore = holds;
            await Task.Delay(50);
        }
        while (clock.Elapsed < limit);

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the temp folder's own clean-up.
        }
    }
}
