using Quartz;

namespace ObservaCost.Analytics.Scheduling.Reports;

/// <summary>The weekly report: a thin job over <see cref="ScheduledReportService"/>.</summary>
[DisallowConcurrentExecution]
public sealed class WeeklyReportJob(ScheduledReportService reports) : IJob
{
    public static readonly JobKey Key = new("report-weekly", "reports");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) => ReportJob.RunAsync(reports, ReportCadence.Weekly, cancellationToken);
}

/// <summary>The monthly report: a thin job over <see cref="ScheduledReportService"/>.</summary>
[DisallowConcurrentExecution]
public sealed class MonthlyReportJob(ScheduledReportService reports) : IJob
{
    public static readonly JobKey Key = new("report-monthly", "reports");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) => ReportJob.RunAsync(reports, ReportCadence.Monthly, cancellationToken);
}

internal static class ReportJob
{
    /// <summary>A failed report (store unreachable, directory not writable) fails the fire without refiring at once: the next fire writes it.</summary>
    public static async ValueTask RunAsync(ScheduledReportService reports, ReportCadence cadence, CancellationToken cancellationToken)
    {
        try
        {
            await reports.RunAsync(cadence, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not JobExecutionException)
        {
            throw new JobExecutionException($"The {cadence.ToString().ToLowerInvariant()} report failed: {ex.Message}", ex) { RefireImmediately = false };
        }
    }
}
