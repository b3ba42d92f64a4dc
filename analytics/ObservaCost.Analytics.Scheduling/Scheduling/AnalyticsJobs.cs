using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Anomalies;
using ObservaCost.Analytics.Forecasts;
using ObservaCost.Analytics.Windows;
using Quartz;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>Rolls raw GPU samples up to 1-minute aggregates, an hour of minutes per store query at most.</summary>
[DisallowConcurrentExecution]
[PersistJobDataAfterExecution]
public sealed class GpuRollupJob(GpuRollupService rollup, AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger<GpuRollupJob> logger)
    : CursorJob(windows, clock, options, metrics, logger)
{
    public static readonly JobKey Key = new("gpu-rollup", Group);

    protected override JobKey JobKey => Key;

    protected override TimeSpan Period => GpuRollupService.Resolution;

    protected override int PeriodsPerCall => 60;

    protected override Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken) =>
        rollup.RollupAsync(start, until, cancellationToken);
}

/// <summary>Computes cost, idle and KPIs window by window, each once its lateness allowance has passed.</summary>
[DisallowConcurrentExecution]
[PersistJobDataAfterExecution]
public sealed class CostWindowJob(CostWindowService costs, AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger<CostWindowJob> logger)
    : CursorJob(windows, clock, options, metrics, logger)
{
    public static readonly JobKey Key = new("cost-window", Group);

    protected override JobKey JobKey => Key;

    protected override TimeSpan Period => Windows.WindowLength;

    /// <summary>Reading the rollup, a window waits until the rollup job has covered it and the look-around after it (<see cref="CostWindowService.LookAround"/>).</summary>
    protected override async ValueTask<DateTimeOffset?> DueUntilAsync(IJobExecutionContext context, DateTimeOffset now, CancellationToken cancellationToken)
    {
        DateTimeOffset byClock = now - Windows.Lateness;
        if (Windows.GpuSource != GpuReadingSource.Rollup)
        {
            return byClock;
        }

        DateTimeOffset? rolledUp = await CursorOfAsync(context, GpuRollupJob.Key, cancellationToken);
        return rolledUp is null ? null : Earlier(rolledUp.Value - costs.LookAround, byClock);
    }

    protected override Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken) =>
        costs.ComputeAndWriteAsync(start, cancellationToken);
}

/// <summary>
/// Rolls each UTC day's windows up into daily KPIs, once the day is past its lateness allowance and the cost job's
/// cursor has passed the day's end (the day reads the stored windows, so it waits for them).
/// </summary>
[DisallowConcurrentExecution]
[PersistJobDataAfterExecution]
public sealed class KpiDayJob(KpiRollupService kpis, AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger<KpiDayJob> logger)
    : CursorJob(windows, clock, options, metrics, logger)
{
    public static readonly JobKey Key = new("kpi-day", Group);

    protected override JobKey JobKey => Key;

    protected override TimeSpan Period => KpiRollupService.Day;

    protected override async ValueTask<DateTimeOffset?> DueUntilAsync(IJobExecutionContext context, DateTimeOffset now, CancellationToken cancellationToken)
    {
        DateTimeOffset? windowsDone = await CursorOfAsync(context, CostWindowJob.Key, cancellationToken);
        return windowsDone is null ? null : Earlier(windowsDone.Value, now - Windows.Lateness);
    }

    protected override Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken) =>
        kpis.RollupDayAsync(start, cancellationToken);
}

/// <summary>Detects anomalies window by window, once the cost job has computed the window (its cursor is past it).</summary>
[DisallowConcurrentExecution]
[PersistJobDataAfterExecution]
public sealed class AnomalyJob(AnomalyService anomalies, AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger<AnomalyJob> logger)
    : CursorJob(windows, clock, options, metrics, logger)
{
    public static readonly JobKey Key = new("anomalies", Group);

    protected override JobKey JobKey => Key;

    protected override TimeSpan Period => Windows.WindowLength;

    protected override ValueTask<DateTimeOffset?> DueUntilAsync(IJobExecutionContext context, DateTimeOffset now, CancellationToken cancellationToken) =>
        CursorOfAsync(context, CostWindowJob.Key, cancellationToken);

    protected override Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken) =>
        anomalies.DetectAndWriteAsync(start, cancellationToken);
}

/// <summary>
/// The demand forecast, once per UTC day: after downtime one forecast from the latest day boundary, not one per
/// missed day (a forecast issued in the past has no reader).
/// </summary>
[DisallowConcurrentExecution]
[PersistJobDataAfterExecution]
public sealed class ForecastJob(DemandForecastService forecasts, AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger<ForecastJob> logger)
    : CursorJob(windows, clock, options, metrics, logger)
{
    public static readonly JobKey Key = new("forecast", Group);

    protected override JobKey JobKey => Key;

    protected override TimeSpan Period => KpiRollupService.Day;

    protected override int PeriodsPerCall => int.MaxValue;

    protected override ValueTask<DateTimeOffset?> DueUntilAsync(IJobExecutionContext context, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DateTimeOffset?>(now);

    protected override Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken) =>
        forecasts.ForecastAndWriteAsync(until, cancellationToken);
}
