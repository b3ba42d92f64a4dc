using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Windows;
using Quartz;

namespace ObservaCost.Analytics.Scheduling;

/// <summary>
/// The one mechanism behind the five analytics jobs. The job keeps a cursor, <see cref="CompletedUntilKey"/>, in
/// its persisted <see cref="JobDataMap"/>: every period ending at or before it is done. Each fire computes every
/// period from the cursor up to the last due one (<see cref="PeriodPlan"/>), in order, moving the cursor after each;
/// the scheduler stores the map when the fire ends (<see cref="PersistJobDataAfterExecutionAttribute"/> on each job).
/// With <see cref="DisallowConcurrentExecutionAttribute"/> on a clustered store, no two nodes run a job at once and
/// each period is computed once. A failure keeps the cursor at the last finished period and throws
/// <see cref="JobExecutionException"/> without an immediate refire: the next fire retries from there.
/// </summary>
public abstract partial class CursorJob(AnalyticsWindowOptions windows, TimeProvider clock, IOptions<SchedulerOptions> options, SchedulingMetrics metrics, ILogger logger) : IJob
{
    public const string Group = "observacost-analytics";
    public const string CompletedUntilKey = "completedUntil";

    /// <summary>The job's key in the scheduler; its name is used in logs.</summary>
    protected abstract JobKey JobKey { get; }

    protected AnalyticsWindowOptions Windows => windows;

    private string Name => JobKey.Name;

    /// <summary>The period length; the cursor always sits on a boundary of it.</summary>
    protected abstract TimeSpan Period { get; }

    /// <summary>How many periods one call of <see cref="ComputeAsync"/> covers at most.</summary>
    protected virtual int PeriodsPerCall => 1;

    /// <summary>The end of the last period that may be computed now, or null when nothing is due: by default the lateness allowance before now.</summary>
    protected virtual ValueTask<DateTimeOffset?> DueUntilAsync(IJobExecutionContext context, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DateTimeOffset?>(now - windows.Lateness);

    /// <summary>Computes and writes [start, end), a whole number of periods.</summary>
    protected abstract Task ComputeAsync(DateTimeOffset start, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Another job's cursor, for a job that runs behind it (null before that job's first period is done).</summary>
    protected static async ValueTask<DateTimeOffset?> CursorOfAsync(IJobExecutionContext context, JobKey job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        IJobDetail? detail = await context.Scheduler.GetJobDetail(job, cancellationToken);
        return detail is null ? null : ReadCursor(detail.JobDataMap);
    }

    protected static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>Reads a job's cursor from its data map.</summary>
    public static DateTimeOffset? ReadCursor(JobDataMap data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return data.TryGetString(CompletedUntilKey, out string? value) && value is not null
            && DateTimeOffset.TryParseExact(value, "o", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset cursor)
            ? cursor
            : null;
    }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        JobDataMap data = context.JobDetail.JobDataMap;
        SchedulerOptions settings = options.Value;
        DateTimeOffset? due = await DueUntilAsync(context, clock.GetUtcNow(), cancellationToken);
        if (due is null)
        {
            return;
        }

        DateTimeOffset? cursor = ReadCursor(data);
        var plan = PeriodPlan.Create(cursor, due.Value, Period, settings.InitialLookback, settings.MaxCatchUp);
        if (plan.SkippedFrom is { } skipped)
        {
            LogSkipped(logger, Name, skipped, plan.Start, settings.MaxCatchUp);
        }

        string instance = context.Scheduler.SchedulerInstanceId;
        metrics.Planned(Name, Period, cursor, plan.Count);
        for (int index = 0; index < plan.Count; index += PeriodsPerCall)
        {
            int periods = Math.Min(PeriodsPerCall, plan.Count - index);
            DateTimeOffset start = plan.PeriodStart(index);
            DateTimeOffset end = plan.PeriodStart(index + periods);
            // One trace per computed call: the store's query and write-back spans are its children.
            using Activity? activity = SchedulingMetrics.ActivitySource.StartActivity(Name + " compute");
            activity?.SetTag("job", Name);
            activity?.SetTag("period", SchedulingMetrics.PeriodName(Period));
            activity?.SetTag("observacost.period.start", start.ToString("o", CultureInfo.InvariantCulture));
            activity?.SetTag("observacost.period.end", end.ToString("o", CultureInfo.InvariantCulture));
            long started = clock.GetTimestamp();
            try
            {
                await ComputeAsync(start, end, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.Failed(Name, Period, clock.GetElapsedTime(started));
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                LogFailed(logger, ex, Name, start, end, ReadCursor(data));
                throw new JobExecutionException($"{Name} failed on [{start:o}, {end:o}); the next fire resumes there.", ex) { RefireImmediately = false };
            }

            data[CompletedUntilKey] = end.ToString("o", CultureInfo.InvariantCulture);
            metrics.Computed(Name, Period, periods, clock.GetElapsedTime(started), end, plan.Count - index - periods);
            LogComputed(logger, Name, start, end, index + periods, plan.Count, instance);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Job} computed [{Start:o}, {End:o}) ({Done}/{Total}) on {Instance}")]
    private static partial void LogComputed(ILogger logger, string job, DateTimeOffset start, DateTimeOffset end, int done, int total, string instance);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Job} was behind since {SkippedFrom:o}, more than the catch-up bound {MaxCatchUp}: resuming at {Start:o}; run backfill for the gap")]
    private static partial void LogSkipped(ILogger logger, string job, DateTimeOffset skippedFrom, DateTimeOffset start, TimeSpan maxCatchUp);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "{Job} failed on [{Start:o}, {End:o}); its cursor stays at {Cursor:o} and the next fire resumes there")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job, DateTimeOffset start, DateTimeOffset end, DateTimeOffset? cursor);
}
