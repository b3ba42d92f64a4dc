using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Kpi;
using ObservaCost.Analytics.Reading;
using ObservaCost.Storage;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Windows;

/// <summary>
/// Rolls a day's stored hourly cost and idle windows up into daily KPIs (<c>kpi_window</c>, <c>window=1d</c>),
/// summed in the store per model, tenant, pool and node, with the same <see cref="KpiCalculator"/> as the hourly KPIs.
/// </summary>
public sealed partial class KpiRollupService(ITimeSeriesStore store, AnalyticsWindowOptions options, ILogger<KpiRollupService> logger)
{
    public static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>Computes and replaces the KPIs of the UTC day starting at <paramref name="dayStart"/>.</summary>
    public async Task<IReadOnlyList<KpiWindow>> RollupDayAsync(DateTimeOffset dayStart, CancellationToken cancellationToken = default)
    {
        if (dayStart.Offset != TimeSpan.Zero || dayStart.TimeOfDay != TimeSpan.Zero)
        {
            throw new ArgumentException($"A KPI day starts at UTC midnight, not {dayStart:o}.", nameof(dayStart));
        }

        var selection = new WindowSelection
        {
            From = dayStart,
            To = dayStart + Day,
            GroupBy = [Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel],
            SourceWindow = options.WindowLength,
        };
        IReadOnlyList<CostWindow> costs = await StoredWindowReader.ReadCostAsync(store, selection, cancellationToken);
        IReadOnlyList<IdleWindow> idle = await StoredWindowReader.ReadIdleAsync(store, selection with { GroupBy = [Tags.Pool, Tags.Node, Tags.GpuModel] }, cancellationToken);
        IReadOnlyList<KpiWindow> kpis = KpiCalculator.Compute(dayStart, Day, costs, idle);
        await WindowWriter.ReplaceAsync(store, dayStart, Day, [(Measurements.KpiWindow, kpis)], cancellationToken);
        LogRolledUp(logger, dayStart, kpis.Count);
        return kpis;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "KPIs of {Day:yyyy-MM-dd}: {Count} rows")]
    private static partial void LogRolledUp(ILogger logger, DateTimeOffset day, int count);
}
