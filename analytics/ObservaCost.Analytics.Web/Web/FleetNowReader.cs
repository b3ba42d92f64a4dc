using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Web;

/// <summary>One GPU as last seen: its placement, the minute read, mean utilization and power over that minute, idle or not.</summary>
public sealed record GpuNow(
    string Pool,
    string Node,
    string GpuIndex,
    string GpuModel,
    string GpuUuid,
    DateTimeOffset Minute,
    double? UtilizationPercent,
    double? PowerWatts,
    double IdleThresholdPercent)
{
    /// <summary>Below the pool's idle threshold (<see cref="IdleThresholds.UtilizationPercent"/>) in that minute.</summary>
    public bool Idle => UtilizationPercent is double u && u < IdleThresholdPercent;
}

/// <summary>
/// The fleet's GPUs now: each GPU's latest stored minute within <see cref="Lookback"/> before the end of the view,
/// aggregated by the store from the raw samples (<c>gpu_sample</c>) in the anomaly signals' query shape
/// (<see cref="GpuReadingQuery"/>: mean power, utilization, graphics activity per minute). Utilization is the graphics
/// engine's activity where a GPU reports it, as the idle detector reads it. Samples bound to a tenant at ingest are
/// not the fleet's own and are left out.
/// </summary>
public sealed class FleetNowReader(ITimeSeriesStore store, PricingFile pricing)
{
    /// <summary>How far back a GPU's latest minute is looked for.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromMinutes(10);

    public async Task<IReadOnlyList<GpuNow>> ReadAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        TimeSeriesQuery query = GpuReadingQuery.Build(Measurements.GpuSample, TimeSpan.FromMinutes(1), at - Lookback, at, Fields.XidErrors,
            Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.GpuIndex, Tags.Tenant);
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var latest = new Dictionary<(string Uuid, string Node), GpuNow>();
        foreach (ResultSeries series in result.Series.Where(s => Tag(s, Tags.Tenant).Length == 0))
        {
            ResultRow? row = series.Rows.LastOrDefault(r => !r[0].IsNull || !r[1].IsNull || !r[2].IsNull);
            if (row is null)
            {
                continue;
            }

            string pool = Tag(series, Tags.Pool);
            var gpu = new GpuNow(
                pool,
                Tag(series, Tags.Node),
                Tag(series, Tags.GpuIndex),
                Tag(series, Tags.GpuModel),
                Tag(series, Tags.GpuUuid),
                row.Time,
                row[2].IsNull ? row[1].AsDouble() : row[2].Number * 100,
                row[0].AsDouble(),
                pricing.IdleThresholdsFor(pool.Length > 0 ? pool : null).UtilizationPercent);
            (string, string) key = (gpu.GpuUuid, gpu.Node);
            if (!latest.TryGetValue(key, out GpuNow? seen) || seen.Minute < gpu.Minute)
            {
                latest[key] = gpu;
            }
        }

        return [.. latest.Values
            .OrderBy(g => g.Pool, StringComparer.Ordinal).ThenBy(g => g.Node, StringComparer.Ordinal)
            .ThenBy(g => g.GpuIndex.Length).ThenBy(g => g.GpuIndex, StringComparer.Ordinal).ThenBy(g => g.GpuUuid, StringComparer.Ordinal)];
    }

    private static string Tag(ResultSeries series, string key) => series.Tags.TryGetValue(key, out string? value) ? value : string.Empty;
}
