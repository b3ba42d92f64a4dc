using Microsoft.Extensions.Diagnostics.HealthChecks;
using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Web;
using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Hosting;
using ObservaCost.Storage;

namespace ObservaCost.Analytics.Service;

/// <summary>
/// The analytics service's composition root: storage, the analytics domain, its Quartz jobs, the HTTP API, the web overview, health.
/// Command line: no verb runs the service; <c>backfill --from &lt;ISO time&gt; --to &lt;ISO time&gt;</c> recomputes a
/// range and exits; <c>evaluate nab --data DIR</c> or <c>evaluate m4 --train FILE --test FILE</c> scores the anomaly
/// detectors or forecasters and prints the figures (docs/accuracy.md). Any other <c>--Key value</c> pair is configuration, as for every ASP.NET Core host.
/// </summary>
public static class AnalyticsApplication
{
    /// <summary>service.name of its telemetry.</summary>
    public const string ServiceName = "observacost-analytics";

    public const string BackfillVerb = BackfillCommand.Verb;
    public const string EvaluateVerb = "evaluate";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null) =>
        ObservaCostHost.Build(
            ServiceName,
            args,
            (services, config) =>
            {
                services.AddAnalyticsDomain(config);
                services.AddAnalyticsScheduling(config);
                services.AddAnalyticsApi(config);
                services.AddAnalyticsWeb();
                services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: [HealthEndpoints.ReadyTag]);
            },
            app =>
            {
                app.MapAnalyticsApi();
                app.MapAnalyticsWeb();
            },
            configure);

    /// <summary>Runs the verb in <paramref name="args"/>; returns the process exit code (2: bad command line or configuration).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter errors, Action<WebApplicationBuilder>? configure = null, TextWriter? output = null, CancellationToken cancellationToken = default) =>
        ObservaCostHost.RunAsync(args, errors, rest => Build(rest, configure),
        [
            // The detectors and forecasters on NAB- and M4-shaped data (docs/accuracy.md); no store, no configuration.
            new(EvaluateVerb, rest => EvaluationCommand.RunAsync(rest, output ?? Console.Out, cancellationToken)),
            new(BackfillVerb, rest => ObservaCostHost.RunRangeVerbAsync(BackfillVerb, BackfillCommand.Usage, rest, errors, configuration => Build(configuration, configure),
                (services, from, to) => BackfillCommand.RunAsync(services, from, to, errors, cancellationToken))),
        ],
        cancellationToken);
}

/// <summary>Ready when the store answers.</summary>
internal sealed class StoreHealthCheck(ITimeSeriesStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy($"{store.Backend} store answers")
            : HealthCheckResult.Unhealthy($"{store.Backend} store does not answer");
}
