using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ObservaCost.Collector.Ingest;
using ObservaCost.Collector.Otlp;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Collector.RequestLogs;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage;
using ObservaCost.Storage.Configuration;

namespace ObservaCost.Collector;

/// <summary>
/// The collector as a library: <see cref="AddCollector"/> registers its options, spool, forwarder, sources, ingest
/// pipeline, its meter and readiness checks; <see cref="MapCollectorEndpoints"/> maps its ingest endpoints. The
/// host registers OpenTelemetry and <c>/metrics</c> for every component (ObservaCostHost). The hosts under <c>hosts/</c> compose it with the store, health endpoints and (single machine) analytics.
/// </summary>
public static class CollectorApplication
{
    /// <summary>
    /// Registers everything the collector runs. The store is the caller's (<c>services.AddObservaCostStorage(config)</c>);
    /// the checks tagged <c>ready</c> (store or spool, background services) are for the host's <c>/readyz</c>.
    /// </summary>
    public static IServiceCollection AddCollector(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.AddValidatedOptions<SpoolOptions, SpoolOptionsValidator>(config, SpoolOptions.SectionName);
        services.AddValidatedOptions<ForwarderOptions, ForwarderOptionsValidator>(config, ForwarderOptions.SectionName);
        services.AddValidatedOptions<IngestAuthOptions, IngestAuthOptionsValidator>(config, IngestAuthOptions.SectionName);
        services.AddValidatedOptions<IngestLimitsOptions, IngestLimitsOptionsValidator>(config, IngestLimitsOptions.SectionName);
        services.AddValidatedOptions<RequestLogOptions, RequestLogOptionsValidator>(config, RequestLogOptions.SectionName);
        services.AddValidatedOptions<ScrapeOptions, ScrapeOptionsValidator>(config, ScrapeOptions.SectionName);
        services.AddValidatedOptions<JsonlTailOptions, JsonlTailOptionsValidator>(config, JsonlTailOptions.SectionName);
        services.AddValidatedOptions<SupervisionOptions, SupervisionOptionsValidator>(config, SupervisionOptions.SectionName);

        // Every background loop runs under SupervisedService (restarted with backoff, /readyz unready while it fails),
        // so no loop exception reaches the host. StopHost stays, on purpose: an exception that still gets there is a
        // fault of the supervision itself, and a stopped process that the orchestrator restarts is better than a
        // collector that acknowledges writes it no longer forwards (what Ignore would leave).
        services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
        services.AddOptions<NvidiaSmiScheduleOptions>().Bind(config.GetSection(NvidiaSmiScheduleOptions.SectionName)).ValidateOnStart();
        if (config.GetValue<bool>(NvidiaSmiScheduleOptions.SectionName + ":Enabled"))
        {
            services.AddValidatedOptions<NvidiaSmiPollerOptions, NvidiaSmiPollerOptionsValidator>(config, NvidiaSmiScheduleOptions.SectionName);
            services.AddSingleton<NvidiaSmiPoller>();
            services.AddSupervisedHostedService<NvidiaSmiPollingService>();
        }

        services.AddMetrics();
        services.AddSingleton<CollectorMetrics>();
        services.AddSingleton(sp =>
        {
            var spool = new DiskSpool(sp.GetRequiredService<IOptions<SpoolOptions>>().Value);
            sp.GetRequiredService<CollectorMetrics>().ObserveSpool(() => spool.PendingBytes);
            return spool;
        });
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ForwarderOptions>>().Value);
        services.AddSupervisedHostedService<SpoolForwarder>();
        services.AddIngestAuthentication();
        services.AddSingleton<PointGate>();
        services.AddSingleton<IngestPipeline>();
        services.AddSingleton<LineProtocolIngest>();
        services.AddSingleton<OtlpMetricsIngest>();
        services.AddSingleton<RequestLogPipeline>();
        services.AddSupervisedHostedService<RequestLogPipeline>();
        services.AddSingleton<RequestLogIngest>();
        services.AddSingleton<RequestLogImportIngest>();
        services.AddSupervisedHostedService<JsonlTailService>();
        services.AddHttpClient(nameof(ScrapeService));
        services.AddSupervisedHostedService<ScrapeService>();

        services.AddHealthChecks().AddCheck<StoreOrSpoolHealthCheck>("store-or-spool", tags: ["ready"])
            .AddCheck<SupervisedServicesHealthCheck>("background-services", tags: ["ready"]);
        return services;
    }

    /// <summary>Maps the ingest endpoints (line protocol, OTLP, request logs); <c>/metrics</c> is the host's (ObservaCostHost, every meter).</summary>
    public static IEndpointRouteBuilder MapCollectorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        LineProtocolIngest.Map(endpoints);
        OtlpMetricsIngest.Map(endpoints);
        RequestLogIngest.Map(endpoints);
        RequestLogImportIngest.Map(endpoints);
        return endpoints;
    }
}

/// <summary>Ready when the store answers, or while it does not, when the spool can still take writes.</summary>
internal sealed class StoreOrSpoolHealthCheck(ITimeSeriesStore store, DiskSpool spool, IOptions<SpoolOptions> spoolOptions) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (await store.PingAsync(cancellationToken))
        {
            return HealthCheckResult.Healthy($"{store.Backend} store answers");
        }

        // Not ready once the spool is within 5 % of its limit: the next batches would be answered 429.
        return spool.PendingBytes < spoolOptions.Value.MaxBytes * 0.95
            ? HealthCheckResult.Healthy($"{store.Backend} store does not answer; the spool takes writes ({spool.PendingBytes} bytes pending)")
            : HealthCheckResult.Unhealthy($"{store.Backend} store does not answer and the spool is full");
    }
}
