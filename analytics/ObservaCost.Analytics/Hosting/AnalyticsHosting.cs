using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Signals;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage.Configuration;

namespace ObservaCost.Analytics.Hosting;

public static class AnalyticsHosting
{
    /// <summary>
    /// Registers the analytics domain: its options (validated at start-up, errors naming their configuration keys),
    /// the pricing file (loaded and validated at start-up), the window, rollup, KPI, anomaly and forecast services and
    /// the alert sink. No scheduler and no endpoints: the Quartz jobs are <c>AddAnalyticsScheduling</c>
    /// (ObservaCost.Analytics.Scheduling), the HTTP API <c>AddAnalyticsApi</c> (ObservaCost.Analytics.Api). The store
    /// is the caller's: <c>services.AddObservaCostStorage(config)</c>.
    /// </summary>
    public static IServiceCollection AddAnalyticsDomain(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.TryAddSingleton(TimeProvider.System);
        services.AddValidatedOptions<AnalyticsOptions, AnalyticsOptionsValidator>(config, AnalyticsOptions.SectionName);
        services.AddValidatedOptions<AnalyticsWindowOptions, AnalyticsWindowOptionsValidator>(config, AnalyticsWindowOptions.SectionName);

        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AnalyticsWindowOptions>>().Value);
        services.AddSingleton(sp => LoadPricing(sp.GetRequiredService<IOptions<AnalyticsOptions>>().Value));
        services.AddSingleton<CostWindowService>();
        services.AddSingleton<GpuRollupService>();
        services.AddSingleton<KpiRollupService>();
        services.AddValidatedOptions<AnomalyOptions, AnomalyOptionsValidator>(config, AnomalyOptions.SectionName);
        services.AddValidatedOptions<CrossSignalOptions, CrossSignalOptionsValidator>(config, CrossSignalOptions.SectionName);
        services.AddValidatedOptions<AlertOptions, AlertOptionsValidator>(config, AlertOptions.SectionName);
        services.AddValidatedOptions<ForecastOptions, ForecastOptionsValidator>(config, ForecastOptions.SectionName);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AnomalyOptions>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<CrossSignalOptions>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AlertOptions>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ForecastOptions>>().Value);
        services.AddHttpClient(nameof(WebhookAlertSink));
        services.AddSingleton(sp => new WebhookAlertSink(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(WebhookAlertSink)),
            sp.GetRequiredService<AlertOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WebhookAlertSink>>()));
        services.AddSingleton<AnomalyService>();
        services.TryAddSingleton<IForecastModelTrainer, GlobalEnsembleTrainer>();
        services.AddSingleton<ForecastModelStore>();
        services.AddSingleton<GlobalForecastModels>();
        services.AddSingleton<DemandForecastService>();
        return services;
    }

    /// <summary>
    /// Loads the pricing file; its errors become an options validation failure naming <c>Analytics:PricingFile</c>,
    /// so a host reports them as every other configuration error even when the file is read before validation runs.
    /// </summary>
    private static PricingFile LoadPricing(AnalyticsOptions options)
    {
        const string Key = AnalyticsOptions.SectionName + ":" + nameof(AnalyticsOptions.PricingFile);
        string path = options.ResolvePricingPath();
        try
        {
            return PricingFileReader.Load(path);
        }
        catch (PricingValidationException ex)
        {
            throw new OptionsValidationException(AnalyticsOptions.SectionName, typeof(AnalyticsOptions), [.. ex.Errors.Select(e => $"{Key}: {path}: {e}")]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptionsValidationException(AnalyticsOptions.SectionName, typeof(AnalyticsOptions), [$"{Key}: the pricing file {path} cannot be read: {ex.Message}"]);
        }
    }
}
