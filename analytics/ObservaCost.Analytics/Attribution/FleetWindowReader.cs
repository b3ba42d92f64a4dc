using ObservaCost.Analytics.Energy;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Reads one window of the fleet from the store as <see cref="GpuWindowInput"/>s, with the aggregation pushed down:
/// one query returns per-GPU, per-allocation means at <c>resolution</c> (power, utilization, graphics-engine
/// activity) and the last energy-counter reading, never every raw sample. A GPU's allocation at a moment is the
/// served model (or, without one, the pool's model from <c>poolModel</c>) and the tenant: the sample's <c>tenant</c>
/// tag when it has one (points bound to a tenant at ingest: that tenant's time, pod or not, whatever the namespace),
/// else the Kubernetes namespace when a pod holds the GPU; without either the time is unallocated. Samples of one
/// GPU with different <c>tenant</c> tags are read as separate GPUs, so a tenant's points never mix into the readings
/// or allocations of a GPU seen by the fleet's own sources or by another tenant. The readings come from the raw samples or,
/// with the same fields and tags, from the 1-minute rollup (<c>gpu_minute</c>): a mean of one minute's mean is that mean.
/// </summary>
public static class FleetWindowReader
{
    public static async Task<IReadOnlyList<GpuWindowInput>> ReadAsync(
        ITimeSeriesStore store,
        DateTimeOffset windowStart,
        DateTimeOffset windowEnd,
        TimeSpan resolution,
        TimeSpan margin,
        Func<string, string?> poolModel,
        string measurement = Measurements.GpuSample,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(poolModel);
        TimeSeriesQuery query = GpuReadingQuery.Build(measurement, resolution, windowStart - margin, windowEnd + margin, Fields.EnergyJoules,
            Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.ServedModel, Tags.Namespace, Tags.Pod, Tags.Tenant);
        QueryResult result = await store.QueryAsync(query, cancellationToken);

        var gpus = new List<GpuWindowInput>();
        foreach (IGrouping<string, ResultSeries> gpu in result.Series.GroupBy(s => s.Tags[Tags.GpuUuid] + "\u0001" + s.Tags[Tags.Node] + "\u0001" + s.Tags[Tags.Tenant], StringComparer.Ordinal))
        {
            var rows = new List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)>();
            ResultSeries first = gpu.First();
            foreach (ResultSeries series in gpu)
            {
                string pod = series.Tags[Tags.Pod];
                string? boundTenant = NullIfEmpty(series.Tags[Tags.Tenant]);
                bool allocated = pod.Length > 0 || boundTenant is not null;
                string? model = allocated ? NullIfEmpty(series.Tags[Tags.ServedModel]) ?? poolModel(series.Tags[Tags.Pool]) : null;
                string? tenant = boundTenant ?? (pod.Length == 0 ? null : NullIfEmpty(series.Tags[Tags.Namespace]));
                foreach (ResultRow row in series.Rows)
                {
                    rows.Add((row.Time, model, tenant, row));
                }
            }

            rows.Sort((a, b) => a.Time.CompareTo(b.Time));
            gpus.Add(new GpuWindowInput
            {
                GpuUuid = first.Tags[Tags.GpuUuid],
                Node = first.Tags[Tags.Node],
                Pool = NullIfEmpty(first.Tags[Tags.Pool]),
                GpuModel = NullIfEmpty(first.Tags[Tags.GpuModel]),
                BoundTenant = NullIfEmpty(first.Tags[Tags.Tenant]),
                Allocations = Spans(rows, resolution),
                PowerWatts = Samples(rows, resolution, 0, 1),
                UtilizationPercent = Samples(rows, resolution, 2, 100, fallbackColumn: 1, fallbackScale: 1),
                EnergyCounterJoules = rows.Where(r => !r.Row[3].IsNull).Select(r => new TimedValue(r.Time + resolution, r.Row[3].Number)).ToArray(),
            });
        }

        return gpus;
    }

    /// <summary>Consecutive rows with the same allocation become one span; unallocated rows make no span.</summary>
    private static List<AllocationSpan> Spans(List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> rows, TimeSpan resolution)
    {
        var spans = new List<AllocationSpan>();
        foreach ((DateTimeOffset time, string? model, string? tenant, _) in rows)
        {
            if (model is null && tenant is null)
            {
                continue;
            }

            if (spans.Count > 0 && spans[^1].End == time && spans[^1].Model == model && spans[^1].Tenant == tenant)
            {
                spans[^1] = spans[^1] with { End = time + resolution };
            }
            else
            {
                spans.Add(new AllocationSpan(time, time + resolution, model, tenant));
            }
        }

        return spans;
    }

    /// <summary>Bucket means placed at the middle of their bucket; <paramref name="column"/> × scale, else the fallback column.</summary>
    private static TimedValue[] Samples(List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> rows, TimeSpan resolution, int column, double scale, int fallbackColumn = -1, double fallbackScale = 1)
    {
        var samples = new List<TimedValue>(rows.Count);
        TimeSpan half = resolution / 2;
        foreach ((DateTimeOffset time, _, _, ResultRow row) in rows)
        {
            if (!row[column].IsNull)
            {
                samples.Add(new TimedValue(time + half, row[column].Number * scale));
            }
            else if (fallbackColumn >= 0 && !row[fallbackColumn].IsNull)
            {
                samples.Add(new TimedValue(time + half, row[fallbackColumn].Number * fallbackScale));
            }
        }

        return [.. samples];
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
