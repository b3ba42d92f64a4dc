using ObservaCost.Analytics.Scheduling;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Reads one window of the fleet from the store as <see cref="GpuWindowInput"/>s: every raw sample (<c>gpu_sample</c>,
/// plain select, no aggregation) or the samples the rollup kept (<c>gpu_trace</c>, see <see cref="GpuTrace"/>), which
/// give the same cost, energy and idle to 1e-9. A GPU's allocation at a moment is the served model (or, without one,
/// the pool's model from <c>poolModel</c>) and the tenant: the sample's <c>tenant</c> tag when it has one (points
/// bound to a tenant at ingest: that tenant's time, pod or not, whatever the namespace), else the Kubernetes namespace
/// when a pod holds the GPU; without either the time is unallocated. Allocation is taken per <c>resolution</c>
/// bucket, from the bucket's first sample. Samples of one GPU with different <c>tenant</c> tags are read as separate
/// GPUs, so a tenant's points never mix into the readings or allocations of a GPU seen by the fleet's own sources or by
/// another tenant. The read covers <c>margin</c> on each side, widened to whole minutes.
/// </summary>
public static class FleetWindowReader
{
    private static readonly string[] GroupTags = [Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.ServedModel, Tags.Namespace, Tags.Pod, Tags.Tenant];

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>Reads the window from the raw samples (<c>gpu_sample</c>) or from the rollup (<c>gpu_minute</c> or <c>gpu_trace</c>).</summary>
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
        bool raw = measurement == Measurements.GpuSample;
        DateTimeOffset from = PeriodPlan.AlignDown(windowStart - margin, Minute);
        DateTimeOffset to = PeriodPlan.AlignUp(windowEnd + margin, Minute);
        TimeSeriesQueryBuilder builder = raw
            ? TimeSeriesQueryBuilder.From(Measurements.GpuSample)
                .Field(Fields.PowerWatts).Field(Fields.UtilizationPercent).Field(Fields.GraphicsEngineActivityRatio).Field(Fields.EnergyJoules)
            : TimeSeriesQueryBuilder.From(Measurements.GpuTrace)
                .Field(Fields.PowerWatts).Field(Fields.UtilizationPercent).Field(Fields.EnergyJoules)
                .Field(Fields.SamplesSincePrevious).Field(Fields.EnergySincePreviousJoules).Field(Fields.CounterIncreaseSincePreviousJoules)
                .Field(Fields.HeldUtilizationPercent).Field(Fields.UtilizationSumPercent).Field(Fields.UtilizationSamples);
        QueryResult result = await store.QueryAsync(builder.Between(from, to).GroupBy(GroupTags).Build(), cancellationToken);

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
            GpuSeries readings = raw ? GpuTrace.FromSamples(rows.ConvertAll(r => Reading(r.Row))) : GpuTrace.Expand(rows.ConvertAll(r => TracePoint(r.Row)));
            gpus.Add(new GpuWindowInput
            {
                GpuUuid = first.Tags[Tags.GpuUuid],
                Node = first.Tags[Tags.Node],
                Pool = NullIfEmpty(first.Tags[Tags.Pool]),
                GpuModel = NullIfEmpty(first.Tags[Tags.GpuModel]),
                BoundTenant = NullIfEmpty(first.Tags[Tags.Tenant]),
                Allocations = Spans(rows, resolution),
                PowerWatts = readings.PowerWatts,
                UtilizationPercent = readings.UtilizationPercent,
                UtilizationBuckets = readings.UtilizationBuckets,
                EnergyCounterJoules = readings.EnergyCounterJoules,
            });
        }

        return gpus;
    }

    /// <summary>A raw sample: graphics-engine activity × 100 where the source has it, else GPU utilization.</summary>
    public static GpuReading Reading(ResultRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        double? utilization = row[2].IsNull ? row[1].AsDouble() : row[2].Number * 100;
        return new GpuReading(row.Time, row[0].AsDouble(), utilization, row[3].AsDouble());
    }

    private static GpuTracePoint TracePoint(ResultRow row) => new(
        row.Time,
        row[0].AsDouble(),
        row[1].AsDouble(),
        row[2].AsDouble(),
        row[3].IsNull ? 0 : (int)row[3].Integer,
        row[4].AsDouble() ?? 0,
        row[5].AsDouble() ?? 0,
        row[6].AsDouble() ?? 0,
        row[7].AsDouble() ?? 0,
        row[8].IsNull ? 0 : (int)row[8].Integer);

    /// <summary>
    /// Each <paramref name="resolution"/> bucket with samples takes the allocation of its first sample; consecutive
    /// buckets with the same allocation become one span; unallocated buckets make no span.
    /// </summary>
    private static List<AllocationSpan> Spans(List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> rows, TimeSpan resolution)
    {
        var spans = new List<AllocationSpan>();
        DateTimeOffset covered = DateTimeOffset.MinValue;
        foreach ((DateTimeOffset time, string? model, string? tenant, _) in rows)
        {
            DateTimeOffset bucket = PeriodPlan.AlignDown(time, resolution);
            if (bucket < covered)
            {
                continue;
            }

            covered = bucket + resolution;
            if (model is null && tenant is null)
            {
                continue;
            }

            if (spans.Count > 0 && spans[^1].End == bucket && spans[^1].Model == model && spans[^1].Tenant == tenant)
            {
                spans[^1] = spans[^1] with { End = covered };
            }
            else
            {
                spans.Add(new AllocationSpan(bucket, covered, model, tenant));
            }
        }

        return spans;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
