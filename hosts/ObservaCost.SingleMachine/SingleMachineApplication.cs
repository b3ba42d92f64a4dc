using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Web;
using ObservaCost.Collector;
using ObservaCost.Hosting;
using ObservaCost.SingleMachine.Cli;

namespace ObservaCost.SingleMachine;

/// <summary>
/// The single-machine host's composition root (<c>observacost</c>, the README's first command): the collector, the
/// analytics domain with its Quartz jobs, the HTTP API and the web overview in one process, on the configured store (the embedded one by
/// default). Its command line is the <c>observacost</c> CLI (<see cref="ObservaCostCli"/>, docs/cli.md).
/// </summary>
public static class SingleMachineApplication
{
    /// <summary>service.name of its telemetry.</summary>
    public const string ServiceName = "observacost";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ObservaCostHost.Build(
            ServiceName,
            args,
            (services, config) =>
            {
                services.AddCollector(config);
                services.AddAnalyticsDomain(config);
                services.AddAnalyticsScheduling(config);
                services.AddAnalyticsApi(config);
                services.AddAnalyticsWeb();
            },
            app =>
            {
                app.MapCollectorEndpoints();
                app.MapAnalyticsApi();
                app.MapAnalyticsWeb();
            },
            configure);

    /// <summary>
    /// Runs the <c>observacost</c> command line (<see cref="ObservaCostCli"/>: run [--demo], simulate, backfill,
    /// evaluate, import-requests, pricing check, config check); returns the process exit code (2: bad command line or
    /// configuration).
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure = null, TextWriter? output = null, CancellationToken cancellationToken = default) =>
        ObservaCostCli.RunAsync(args, new CliContext(output ?? Console.Out, errors, configure), cancellationToken);
}
