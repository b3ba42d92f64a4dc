using ObservaCost.Analytics.Attribution;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Reading;

/// <summary>Which stored windows to read: a range, an optional step, the tags to group by and tag filters.</summary>
public sealed record WindowSelection
{
    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset To { get; init; }

    /// <summary>Bucket length; null for one bucket over the whole range.</summary>
    public TimeSpan? Step { get; init; }

    /// <summary>Tag keys to group by, e.g. <c>model</c>, <c>tenant</c>, <c>pool</c>, <c>node</c>.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = [];

    /// <summary>Tag equality filters, e.g. a tenant-scoped reader's <c>tenant</c>.</summary>
    public IReadOnlyDictionary<string, string> Where { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The length of the computed windows to read (the <c>window</c> tag).</summary>
    public TimeSpan SourceWindow { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Reads stored cost, idle and KPI windows summed in the store (InfluxQL <c>SUM … GROUP BY time(step), tags</c> or
/// the same in SQL), re-deriving the ratios from the sums so a day or a month reads as exactly the windows in it.
/// </summary>
public static class StoredWindowReader
{
    private static readonly string[] CostSums =
    [
        Fields.GpuHours, Fields.UtilizedGpuHours, Fields.GpuEnergyJoules, Fields.NodeEnergyJoules, Fields.FacilityEnergyJoules,
        Fields.CapexUsd, Fields.OpexUsd, Fields.EnergyCostUsd, Fields.CostUsd, Fields.PromptTokens, Fields.CompletionTokens,
        Fields.RequestCount, Fields.PromptCostUsd, Fields.CompletionCostUsd, Fields.MaxTokens, Fields.RevenueUsd,
    ];

    private const string RentalWindows = "rental_windows";

    private const string CostWindows = "cost_windows";

    private const string CarbonWindows = "carbon_windows";

    private const string IdleWindows = "idle_windows";

    private static readonly string[] IdleSums = [Fields.GpuHours, Fields.IdleGpuHours, Fields.IdleCostUsd, Fields.IdleEnergyJoules];

    public static async Task<IReadOnlyList<CostWindow>> ReadCostAsync(ITimeSeriesStore store, WindowSelection selection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(selection);
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.CostWindow);
        foreach (string field in CostSums)
        {
            builder.Sum(field, field);
        }

        builder.Mean(Fields.LatencyP50Ms, Fields.LatencyP50Ms).Mean(Fields.LatencyP95Ms, Fields.LatencyP95Ms);

        // Rental is its own field since windows computed before the split hold it inside opex: counting the windows
        // that carry it against those that carry a cost tells whether the bucket's rental is apart (same query).
        builder.Sum(Fields.RentalUsd, Fields.RentalUsd).Count(Fields.RentalUsd, RentalWindows).Count(Fields.CostUsd, CostWindows);

        // Carbon likewise: windows computed before carbon (or without an intensity) have none, and then the bucket's is null.
        builder.Sum(Fields.OperationalCo2eGrams, Fields.OperationalCo2eGrams).Sum(Fields.EmbodiedCo2eGrams, Fields.EmbodiedCo2eGrams)
            .Sum(Fields.Co2eGrams, Fields.Co2eGrams).Count(Fields.Co2eGrams, CarbonWindows);
        QueryResult result = await store.QueryAsync(Scope(builder, selection), cancellationToken);
        Dictionary<(string Group, DateTimeOffset Time), string> nodePowerSources = await ReadNodePowerSourcesAsync(store, selection, cancellationToken);
        var windows = new List<CostWindow>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                double Sum(int i) => row[i].IsNull ? 0 : row[i].Number;
                (double opex, double? rental) = CostFigures.OpexAndRental(Sum(6), Sum(18), Sum(19) >= Sum(20));
                string? nodePowerSource = nodePowerSources.GetValueOrDefault((GroupOf(series, selection), row.Time));
                bool carbon = Sum(24) >= Sum(20);
                windows.Add(CostFigures.WithRatios(new CostWindow
                {
                    WindowStart = row.Time,
                    WindowLength = selection.Step ?? selection.To - selection.From,
                    Model = Tag(series, Tags.Model),
                    Tenant = Tag(series, Tags.Tenant),
                    Pool = Tag(series, Tags.Pool),
                    Node = Tag(series, Tags.Node),
                    GpuModel = Tag(series, Tags.GpuModel),
                    GpuUuid = Tag(series, Tags.GpuUuid),
                    MigInstance = Tag(series, Tags.MigInstance),
                    MigProfile = Tag(series, Tags.MigProfile),
                    AttributionBasis = Tag(series, Tags.AttributionBasis),
                    GpuHours = Sum(0),
                    UtilizedGpuHours = Sum(1),
                    GpuEnergyJoules = Sum(2),
                    NodeEnergyJoules = Sum(3),
                    NodePowerSource = nodePowerSource,
                    FacilityEnergyJoules = Sum(4),
                    CapexUsd = Sum(5),
                    OpexUsd = opex,
                    RentalUsd = rental,
                    EnergyCostUsd = Sum(7),
                    CostUsd = Sum(8),
                    PromptTokens = (long)Sum(9),
                    CompletionTokens = (long)Sum(10),
                    RequestCount = (long)Sum(11),
                    PromptCostUsd = Sum(12),
                    CompletionCostUsd = Sum(13),
                    MaxTokens = Sum(14),
                    RevenueUsd = row[15].AsDouble(),
                    LatencyP50Ms = row[16].AsDouble(),
                    LatencyP95Ms = row[17].AsDouble(),
                    OperationalCo2eGrams = CostFigures.CarbonSum(Sum(21), carbon),
                    EmbodiedCo2eGrams = CostFigures.CarbonSum(Sum(22), carbon),
                    Co2eGrams = CostFigures.CarbonSum(Sum(23), carbon),
                }));
            }
        }

        return windows;
    }

    public static async Task<IReadOnlyList<IdleWindow>> ReadIdleAsync(ITimeSeriesStore store, WindowSelection selection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(selection);
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.IdleWindow);
        foreach (string field in IdleSums)
        {
            builder.Sum(field, field);
        }

        builder.Sum(Fields.IdleCo2eGrams, Fields.IdleCo2eGrams).Count(Fields.IdleCo2eGrams, CarbonWindows).Count(Fields.GpuHours, IdleWindows);

        QueryResult result = await store.QueryAsync(Scope(builder, selection), cancellationToken);
        var windows = new List<IdleWindow>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                double Sum(int i) => row[i].IsNull ? 0 : row[i].Number;
                windows.Add(new IdleWindow
                {
                    WindowStart = row.Time,
                    WindowLength = selection.Step ?? selection.To - selection.From,
                    Pool = Tag(series, Tags.Pool),
                    Node = Tag(series, Tags.Node),
                    GpuModel = Tag(series, Tags.GpuModel),
                    GpuHours = Sum(0),
                    IdleGpuHours = Sum(1),
                    IdleCostUsd = Sum(2),
                    IdleEnergyJoules = Sum(3),
                    IdleCo2eGrams = CostFigures.CarbonSum(Sum(4), Sum(5) >= Sum(6)),
                });
            }
        }

        return windows;
    }

    /// <summary>
    /// The node power source of each bucket (the tag <c>node_power_source</c> the sums cannot carry): the buckets' cost
    /// windows counted per source, in the same scope; one source, or <c>mixed</c>. Windows computed before the tag have
    /// none and add nothing.
    /// </summary>
    private static async Task<Dictionary<(string Group, DateTimeOffset Time), string>> ReadNodePowerSourcesAsync(
        ITimeSeriesStore store, WindowSelection selection, CancellationToken cancellationToken)
    {
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.CostWindow).Count(Fields.CostUsd, CostWindows);
        QueryResult result = await store.QueryAsync(Scope(builder, selection with { GroupBy = [.. selection.GroupBy, Tags.NodePowerSource] }), cancellationToken);
        var sources = new Dictionary<(string Group, DateTimeOffset Time), string>();
        foreach (ResultSeries series in result.Series)
        {
            if (Tag(series, Tags.NodePowerSource) is not string source)
            {
                continue;
            }

            string group = GroupOf(series, selection);
            foreach (ResultRow row in series.Rows)
            {
                if (!row[0].IsNull && row[0].Number > 0)
                {
                    sources[(group, row.Time)] = NodePowerSources.Combine(sources.GetValueOrDefault((group, row.Time)), source)!;
                }
            }
        }

        return sources;
    }

    private static string GroupOf(ResultSeries series, WindowSelection selection) =>
        string.Join("\u0001", selection.GroupBy.Select(key => Tag(series, key) ?? string.Empty));

    private static TimeSeriesQuery Scope(TimeSeriesQueryBuilder builder, WindowSelection selection)
    {
        builder.Between(selection.From, selection.To).WhereTag(Tags.Window, CostWindow.WindowTag(selection.SourceWindow));
        foreach (KeyValuePair<string, string> filter in selection.Where)
        {
            builder.WhereTag(filter.Key, filter.Value);
        }

        if (selection.Step is TimeSpan step)
        {
            builder.GroupByTime(step);
        }

        if (selection.GroupBy.Count > 0)
        {
            builder.GroupBy([.. selection.GroupBy]);
        }

        return builder.Build();
    }

    private static string? Tag(ResultSeries series, string key) =>
        series.Tags.TryGetValue(key, out string? value) && value.Length > 0 ? value : null;
}
