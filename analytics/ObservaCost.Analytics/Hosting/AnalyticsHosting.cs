using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Alerts;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Signals;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Analytics.Windows;
using Quartz;

namespace ObservaCost.Analytics.Hosting;

public static class AnalyticsHosting
{
    /// <summary>
    /// Registers the analytics options (validated at start-up, errors naming their configuration keys), the pricing
    /// file (loaded and validated at start-up), the window, rollup and KPI services, the backfill, and Quartz with
    /// the three jobs: clustered on PostgreSQL when <c>Analytics:Scheduler:PostgresConnectionString</c> is set, in
    /// memory otherwise. The store is the caller's: <c>services.AddObservaCostStorage(config)</c>.
    /// </summary>
    public static IServiceCollection AddObservaCostAnalytics(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.TryAddSingleton(TimeProvider.System);
        AddValidated<AnalyticsOptions, AnalyticsOptionsValidator>(services, config, AnalyticsOptions.SectionName);
        AddValidated<AnalyticsWindowOptions, AnalyticsWindowOptionsValidator>(services, config, AnalyticsWindowOptions.SectionName);
        AddValidated<SchedulerOptions, SchedulerOptionsValidator>(services, config, SchedulerOptions.SectionName);

        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AnalyticsWindowOptions>>().Value);
        services.AddSingleton(sp => PricingFileReader.Load(sp.GetRequiredService<IOptions<AnalyticsOptions>>().Value.ResolvePricingPath()));
        services.AddSingleton<CostWindowService>();
        services.AddSingleton<GpuRollupService>();
        services.AddSingleton<KpiRollupService>();
        services.AddSingleton<AnalyticsBackfill>();
        AddValidated<AnomalyOptions, AnomalyOptionsValidator>(services, config, AnomalyOptions.SectionName);
        AddValidated<CrossSignalOptions, CrossSignalOptionsValidator>(services, config, CrossSignalOptions.SectionName);
        AddValidated<AlertOptions, AlertOptionsValidator>(services, config, AlertOptions.SectionName);
        AddValidated<ForecastOptions, ForecastOptionsValidator>(services, config, ForecastOptions.SectionName);
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
        services.AddSingleton<DemandForecastService>();
        services.AddTransient<GpuRollupJob>();
        services.AddTransient<CostWindowJob>();
        services.AddTransient<KpiDayJob>();
        services.AddTransient<AnomalyJob>();
        services.AddTransient<ForecastJob>();

        SchedulerOptions scheduler = config.GetSection(SchedulerOptions.SectionName).Get<SchedulerOptions>() ?? new SchedulerOptions();
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s => s.InstanceName = "observacost-analytics");
            if (string.IsNullOrWhiteSpace(scheduler.PostgresConnectionString))
            {
                q.UseInMemoryStore(store => store.MisfireThreshold = scheduler.MisfireThreshold);
                return;
            }

            q.UsePersistentStore(store =>
            {
                store.UsePostgres(scheduler.PostgresConnectionString);
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
                store.ConfigureStore(o => o.MisfireThreshold = scheduler.MisfireThreshold);
                store.UseClustering(c =>
                {
                    c.CheckinInterval = scheduler.ClusterCheckinInterval;
                    c.CheckinMisfireThreshold = scheduler.ClusterCheckinMisfireThreshold;
                });
            });
        });

        // The registrar first: it stores the jobs and triggers before the hosted service starts the scheduler.
        services.AddHostedService<ScheduleRegistrar>();
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        // Ready only while the scheduler runs (and, clustered, checks in): /readyz of the service and the collector.
        services.AddHealthChecks().AddQuartz(o =>
        {
            o.Name = "analytics-scheduler";
            o.Tags.Add("ready");
        });
        return services;
    }

    private static void AddValidated<TOptions, TValidator>(IServiceCollection services, IConfiguration config, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().Bind(config.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
    }
}
