using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling.Reports;
using ObservaCost.Reporting;
using ObservaCost.Storage.Configuration;
using Quartz;

namespace ObservaCost.Analytics.Scheduling;

public static class AnalyticsScheduling
{
    /// <summary>
    /// Registers the backfill and Quartz with the analytics jobs (rollup, cost window, KPI day, anomaly, forecast, and
    /// the weekly and monthly report jobs when <c>Reports:Schedule</c> enables them):
    /// clustered on PostgreSQL when <c>Analytics:Scheduler:PostgresConnectionString</c> is set, in memory otherwise,
    /// and the <c>analytics-scheduler</c> readiness check. The jobs call the domain's services, which the caller
    /// registers: <c>services.AddAnalyticsDomain(config)</c> (and the store, <c>AddObservaCostStorage</c>).
    /// </summary>
    public static IServiceCollection AddAnalyticsScheduling(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.AddValidatedOptions<SchedulerOptions, SchedulerOptionsValidator>(config, SchedulerOptions.SectionName);
        services.AddSingleton<AnalyticsBackfill>();
        services.AddSingleton<SchedulingMetrics>();
        services.AddTransient<GpuRollupJob>();
        services.AddTransient<CostWindowJob>();
        services.AddTransient<KpiDayJob>();
        services.AddTransient<AnomalyJob>();
        services.AddTransient<ForecastJob>();
        services.AddReporting(config);
        services.AddValidatedOptions<ReportScheduleOptions, ReportScheduleOptionsValidator>(config, ReportScheduleOptions.SectionName);
        services.AddHttpClient(ScheduledReportService.HttpClientName);
        services.AddSingleton<ScheduledReportService>();
        services.AddTransient<WeeklyReportJob>();
        services.AddTransient<MonthlyReportJob>();

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
        // Ready only while the scheduler runs (and, clustered, checks in): /readyz of the analytics service and the single-machine host.
        services.AddHealthChecks().AddQuartz(o =>
        {
            o.Name = "analytics-scheduler";
            o.Tags.Add("ready");
        });
        return services;
    }
}

/// <summary>
/// The <c>backfill --from --to</c> verb's work, for the hosts that offer it: recomputes the range with the
/// composed services (<see cref="AnalyticsBackfill"/>), a progress bar on the error writer (redrawn on a
/// terminal), and one summary line. The host parses the command line and builds the services.
/// </summary>
public static class BackfillCommand
{
    public const string Verb = "backfill";

    public const string Usage = "usage: backfill --from <ISO time> --to <ISO time> [--Key value ...]   (--from before --to)";

    public static async Task<int> RunAsync(IServiceProvider services, DateTimeOffset from, DateTimeOffset to, TextWriter errors, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(errors);
        AnalyticsBackfill backfill = services.GetRequiredService<AnalyticsBackfill>();
        var progress = new BackfillProgress(errors, redraw: ReferenceEquals(errors, Console.Error) && !Console.IsErrorRedirected, services.GetRequiredService<TimeProvider>());
        AnalyticsBackfill.Summary summary = await backfill.RunAsync(from, to, progress, cancellationToken);
        await errors.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"backfill done: {summary.RollupRanges} rollup ranges, {summary.Windows} windows, {summary.Days} days in {summary.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}
