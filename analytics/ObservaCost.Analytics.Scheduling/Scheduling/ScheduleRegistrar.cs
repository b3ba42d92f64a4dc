using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Scheduling.Reports;
using Quartz;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>
/// Puts the five jobs (and the enabled report jobs) and their cron triggers in the scheduler before Quartz's hosted service starts it. A job
/// already stored (the clustered store, another node, an earlier run) is kept as it is, so its cursor survives
/// restarts; a stored trigger is replaced only when its cron expression or misfire policy changed in configuration.
/// Quartz's declarative AddJob would overwrite the job, and its cursor with it, at every start.
/// </summary>
public sealed partial class ScheduleRegistrar(
    ISchedulerFactory factory, IOptions<SchedulerOptions> options, IOptions<ReportScheduleOptions> reports, TimeProvider clock, ILogger<ScheduleRegistrar> logger) : IHostedService
{
    /// <summary>
    /// A misfired window trigger fires once as soon as it can, then resumes its schedule: the cursor, not the number
    /// of fires, decides what is computed, so one fire catches every missed period up and a burst would add nothing.
    /// </summary>
    public const CronTriggerMisfireInstruction Misfire = CronTriggerMisfireInstruction.FireAndProceed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IScheduler scheduler = await factory.GetScheduler(cancellationToken);
        SchedulerOptions settings = options.Value;
        await EnsureAsync<GpuRollupJob>(scheduler, GpuRollupJob.Key, settings.RollupCron, cancellationToken);
        await EnsureAsync<CostWindowJob>(scheduler, CostWindowJob.Key, settings.CostCron, cancellationToken);
        await EnsureAsync<KpiDayJob>(scheduler, KpiDayJob.Key, settings.KpiCron, cancellationToken);
        await EnsureAsync<AnomalyJob>(scheduler, AnomalyJob.Key, settings.AnomalyCron, cancellationToken);
        await EnsureAsync<ForecastJob>(scheduler, ForecastJob.Key, settings.ForecastCron, cancellationToken);
        await ReportAsync<WeeklyReportJob>(scheduler, WeeklyReportJob.Key, reports.Value.Weekly, cancellationToken);
        await ReportAsync<MonthlyReportJob>(scheduler, MonthlyReportJob.Key, reports.Value.Monthly, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static TriggerKey TriggerFor(JobKey job) => new(job.Name, job.Group);

    /// <summary>A report job when enabled; when disabled, a job stored by an earlier configuration is removed.</summary>
    private async Task ReportAsync<TJob>(IScheduler scheduler, JobKey key, ScheduledReportOptions report, CancellationToken cancellationToken)
        where TJob : IJob
    {
        if (report.Enabled)
        {
            await EnsureAsync<TJob>(scheduler, key, report.Cron, cancellationToken);
        }
        else if (await scheduler.DeleteJob(key, cancellationToken))
        {
            LogScheduled(logger, key.Name, report.Cron, "unscheduled (disabled)");
        }
    }

    private async Task EnsureAsync<TJob>(IScheduler scheduler, JobKey key, string cron, CancellationToken cancellationToken)
        where TJob : IJob
    {
        IJobDetail job = JobBuilder.Create<TJob>()
            .WithIdentity(key)
            .StoreDurably()
            .DisallowConcurrentExecution()
            .PersistJobDataAfterExecution()
            .Build();
        try
        {
            await scheduler.AddJob(job, default, cancellationToken);
        }
        catch (ObjectAlreadyExistsException)
        {
            // Stored by an earlier start or by another node: keep it, and its cursor.
        }

        TriggerKey triggerKey = TriggerFor(key);
        ITrigger? existing = await scheduler.GetTrigger(triggerKey, cancellationToken);
        if (existing is ICronTrigger stored && stored.CronExpressionString == cron && stored.MisfireInstructionCode == (int)Misfire)
        {
            return;
        }

        ITrigger trigger = TriggerBuilder.Create(clock)
            .WithIdentity(triggerKey)
            .ForJob(key)
            .WithCronSchedule(cron, b => b.InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(Misfire))
            .Build();
        await scheduler.ScheduleJob(trigger, new ScheduleJobOptions { Replace = true }, cancellationToken);
        LogScheduled(logger, key.Name, cron, existing is null ? "scheduled" : "rescheduled");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Job} {Action} with cron '{Cron}' (UTC)")]
    private static partial void LogScheduled(ILogger logger, string job, string cron, string action);
}
