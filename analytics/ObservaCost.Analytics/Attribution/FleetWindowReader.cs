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
/// another tenant. The read covers <c>margin</c> on each side, widened to whole minutes. A MIG GPU's instance series
/// (tag <c>mig_instance</c>) are read apart from the GPU's own, as its parts (<see cref="GpuPartition"/>); the
/// workloads of <c>gpu_workload</c>, or several pods on a GPU's own samples in one bucket, are the parts' workloads,
/// weighed later by <see cref="GpuSharing"/> (docs/analytics.md, "MIG instances" and "Shared GPUs").
/// </summary>
public static class FleetWindowReader
{
    private static readonly string[] GroupTags = [Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.GpuModel, Tags.ServedModel, Tags.Namespace, Tags.Pod, Tags.Tenant, Tags.MigInstance, Tags.MigProfile];

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
                // Memory only keeps a sample with none of the four (nvidia-smi's MIG instances: memory alone) in the result.
                .Field(Fields.MemoryUsedBytes)
            : TimeSeriesQueryBuilder.From(Measurements.GpuTrace)
                .Field(Fields.PowerWatts).Field(Fields.UtilizationPercent).Field(Fields.EnergyJoules)
                .Field(Fields.SamplesSincePrevious).Field(Fields.EnergySincePreviousJoules).Field(Fields.CounterIncreaseSincePreviousJoules)
                .Field(Fields.HeldUtilizationPercent).Field(Fields.UtilizationSumPercent).Field(Fields.UtilizationSamples);
        QueryResult result = await store.QueryAsync(builder.Between(from, to).GroupBy(GroupTags).Build(), cancellationToken);

        Dictionary<string, List<(string MigInstance, WorkloadBucket Bucket)>> workloads = await ReadWorkloadsAsync(store, from, to, resolution, cancellationToken);
        var gpus = new List<GpuWindowInput>();
        foreach (IGrouping<string, ResultSeries> gpu in result.Series.GroupBy(s => s.Tags[Tags.GpuUuid] + "\u0001" + s.Tags[Tags.Node] + "\u0001" + s.Tags[Tags.Tenant], StringComparer.Ordinal))
        {
            // A MIG GPU's instances (tag mig_instance) are parts of it, read apart from the GPU's own series.
            ResultSeries first = gpu.First();
            (List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> rows, GpuSeries readings) =
                Read(gpu.Where(s => s.Tags[Tags.MigInstance].Length == 0), raw, poolModel);
            string? pool = NullIfEmpty(first.Tags[Tags.Pool]);
            string? gpuModel = gpu.Select(s => NullIfEmpty(s.Tags[Tags.GpuModel])).FirstOrDefault(m => m is not null);
            string? poolServes = pool is null ? null : poolModel(pool);
            List<(string MigInstance, WorkloadBucket Bucket)> seen = workloads.GetValueOrDefault(gpu.Key) ?? [];
            List<WorkloadBucket> WorkloadsOn(string migInstance) =>
                [.. seen.Where(w => w.MigInstance == migInstance).Select(w => w.Bucket.Model is null ? w.Bucket with { Model = poolServes } : w.Bucket)];
            List<AllocationSpan> allocations = Spans(rows, resolution);
            var input = new GpuWindowInput
            {
                GpuUuid = first.Tags[Tags.GpuUuid],
                Node = first.Tags[Tags.Node],
                Pool = pool,
                GpuModel = gpuModel,
                BoundTenant = NullIfEmpty(first.Tags[Tags.Tenant]),
                Allocations = allocations,
                PowerWatts = readings.PowerWatts,
                UtilizationPercent = readings.UtilizationPercent,
                UtilizationBuckets = readings.UtilizationBuckets,
                EnergyCounterJoules = readings.EnergyCounterJoules,
                ShareStep = resolution,
            };

            var instances = gpu.Where(s => s.Tags[Tags.MigInstance].Length > 0)
                .GroupBy(s => s.Tags[Tags.MigInstance], StringComparer.Ordinal).OrderBy(i => i.Key, StringComparer.Ordinal).ToList();
            if (instances.Count > 0)
            {
                input = WithMigInstances(input, instances, raw, poolModel, resolution, WorkloadsOn);
            }
            else if (WorkloadsOn(string.Empty) is { Count: > 0 } onGpu)
            {
                input = input with { Partitions = [new GpuPartition { Slices = 1, Allocations = allocations, Workloads = onGpu, AttributionBasis = AttributionBases.WholeGpu }] };
            }
            else if (PodsSharing(gpu.Where(s => s.Tags[Tags.MigInstance].Length == 0), poolModel, resolution) is { Count: > 0 } pods)
            {
                input = input with { Partitions = [new GpuPartition { Slices = 1, Allocations = allocations, Workloads = pods, AttributionBasis = AttributionBases.WholeGpu }] };
            }

            gpus.Add(input);
        }

        return gpus;
    }

    /// <summary>
    /// The GPU divided into its MIG instances: each its own allocation (its samples' pod) and activity, holding the
    /// slices of its profile out of the GPU model's (<see cref="MigSlices"/>); when the table knows neither, equal
    /// shares of the partitioned part (<see cref="AttributionBases.MigEqual"/>, <see cref="GpuWindowInput.MigSlicesUnknown"/>).
    /// </summary>
    private static GpuWindowInput WithMigInstances(
        GpuWindowInput gpu,
        List<IGrouping<string, ResultSeries>> instances,
        bool raw,
        Func<string, string?> poolModel,
        TimeSpan resolution,
        Func<string, List<WorkloadBucket>> workloadsOn)
    {
        int? total = MigSlices.Total(gpu.GpuModel);
        var parts = new List<GpuPartition>(instances.Count);
        foreach (IGrouping<string, ResultSeries> instance in instances)
        {
            (List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> rows, GpuSeries activity) = Read(instance, raw, poolModel);
            string? profile = instance.Select(s => NullIfEmpty(s.Tags[Tags.MigProfile])).FirstOrDefault(p => p is not null);
            parts.Add(new GpuPartition
            {
                MigInstance = instance.Key,
                MigProfile = profile,
                Slices = MigSlices.OfProfile(profile) ?? 0,
                Allocations = Spans(rows, resolution),
                ActivityPercent = activity.UtilizationPercent,
                ActivityBuckets = activity.UtilizationBuckets,
                Workloads = workloadsOn(instance.Key),
            });
        }

        bool known = total is int slices && parts.All(p => p.Slices > 0) && parts.Sum(p => p.Slices) <= slices;
        return known
            ? gpu with { Partitions = parts, TotalSlices = total!.Value }
            : gpu with { Partitions = [.. parts.Select(p => p with { Slices = 1, AttributionBasis = AttributionBases.MigEqual })], TotalSlices = parts.Count, MigSlicesUnknown = true };
    }

    /// <summary>A GPU's series (one per placement) as rows in time order with their allocation, and the readings the cost computation uses.</summary>
    private static (List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)> Rows, GpuSeries Readings) Read(
        IEnumerable<ResultSeries> gpu, bool raw, Func<string, string?> poolModel)
    {
        var rows = new List<(DateTimeOffset Time, string? Model, string? Tenant, ResultRow Row)>();
        foreach (ResultSeries series in gpu)
        {
            (string? model, string? tenant) = Allocation(series, poolModel);
            foreach (ResultRow row in series.Rows)
            {
                rows.Add((row.Time, model, tenant, row));
            }
        }

        rows.Sort((a, b) => a.Time.CompareTo(b.Time));
        GpuSeries readings = raw ? GpuTrace.FromSamples(rows.ConvertAll(r => Reading(r.Row))) : GpuTrace.Expand(rows.ConvertAll(r => TracePoint(r.Row)));
        return (rows, readings);
    }

    /// <summary>A series' allocation: the served model (else the pool's) and the bound tenant, else the pod's namespace; nobody without either.</summary>
    private static (string? Model, string? Tenant) Allocation(ResultSeries series, Func<string, string?> poolModel)
    {
        string pod = series.Tags[Tags.Pod];
        string? boundTenant = NullIfEmpty(series.Tags[Tags.Tenant]);
        bool allocated = pod.Length > 0 || boundTenant is not null;
        string? model = allocated ? NullIfEmpty(series.Tags[Tags.ServedModel]) ?? poolModel(series.Tags[Tags.Pool]) : null;
        string? tenant = boundTenant ?? (pod.Length == 0 ? null : NullIfEmpty(series.Tags[Tags.Namespace]));
        return (model, tenant);
    }

    /// <summary>
    /// Several pods on one GPU's own samples in one bucket (dcgm-exporter repeats a shared GPU's series per pod): each pod
    /// a workload with no utilization of its own, in every bucket it has samples in; empty when no bucket has two pods.
    /// </summary>
    private static List<WorkloadBucket> PodsSharing(IEnumerable<ResultSeries> gpu, Func<string, string?> poolModel, TimeSpan resolution)
    {
        var buckets = new Dictionary<(DateTimeOffset Start, string Pod), WorkloadBucket>();
        foreach (ResultSeries series in gpu)
        {
            string pod = series.Tags[Tags.Pod];
            if (pod.Length == 0)
            {
                continue;
            }

            (string? model, string? tenant) = Allocation(series, poolModel);
            string id = series.Tags[Tags.Namespace] + "/" + pod;
            foreach (ResultRow row in series.Rows)
            {
                DateTimeOffset start = PeriodPlan.AlignDown(row.Time, resolution);
                buckets.TryAdd((start, id), new WorkloadBucket(start, start + resolution, id, model, tenant, null, null));
            }
        }

        bool shared = buckets.Keys.GroupBy(k => k.Start).Any(g => g.Count() >= 2);
        return shared ? [.. buckets.Values.OrderBy(b => b.Start).ThenBy(b => b.Workload, StringComparer.Ordinal)] : [];
    }

    /// <summary>
    /// The workloads on each GPU (keyed like the GPUs: UUID, node, tenant) and MIG instance per bucket from
    /// <c>gpu_workload</c>: identity pod + namespace + container, else the <c>workload</c> tag; model the served model
    /// (the pool's is filled in by the caller); tenant the bound tenant, else the namespace; the bucket's mean
    /// utilization and requested fraction.
    /// </summary>
    private static async Task<Dictionary<string, List<(string MigInstance, WorkloadBucket Bucket)>>> ReadWorkloadsAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, TimeSpan resolution, CancellationToken cancellationToken)
    {
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuWorkload)
            // Memory and workloads_on_gpu are read only so that a point with neither signal still shows its workload (InfluxDB
            // and the embedded store leave out rows whose selected fields are all empty): dcgm-exporter's and AMD's
            // workloads of a time-sliced GPU carry workloads_on_gpu alone.
            .Field(Fields.UtilizationPercent).Field(Fields.RequestedFraction).Field(Fields.MemoryUsedBytes).Field(Fields.MemoryLimitBytes).Field(Fields.WorkloadsOnGpu)
            .Between(from, to)
            .GroupBy(Tags.GpuUuid, Tags.Node, Tags.Tenant, Tags.MigInstance, Tags.Pod, Tags.Namespace, Tags.Container, Tags.Workload, Tags.ServedModel)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var workloads = new Dictionary<string, List<(string MigInstance, WorkloadBucket Bucket)>>(StringComparer.Ordinal);
        foreach (ResultSeries series in result.Series)
        {
            string pod = series.Tags[Tags.Pod];
            string id = pod.Length > 0 ? series.Tags[Tags.Namespace] + "/" + pod + "/" + series.Tags[Tags.Container] : series.Tags[Tags.Workload];
            if (id.Length == 0)
            {
                continue;
            }

            string? tenant = NullIfEmpty(series.Tags[Tags.Tenant]) ?? NullIfEmpty(series.Tags[Tags.Namespace]);
            string key = series.Tags[Tags.GpuUuid] + "\u0001" + series.Tags[Tags.Node] + "\u0001" + series.Tags[Tags.Tenant];
            if (!workloads.TryGetValue(key, out List<(string MigInstance, WorkloadBucket Bucket)>? list))
            {
                list = [];
                workloads.Add(key, list);
            }

            foreach (IGrouping<DateTimeOffset, ResultRow> bucket in series.Rows.GroupBy(r => PeriodPlan.AlignDown(r.Time, resolution)))
            {
                double? utilization = Mean(bucket.Select(r => r[0].AsDouble()));
                double? requested = Mean(bucket.Select(r => r[1].AsDouble()));
                list.Add((series.Tags[Tags.MigInstance], new WorkloadBucket(bucket.Key, bucket.Key + resolution, id, NullIfEmpty(series.Tags[Tags.ServedModel]), tenant, utilization, requested)));
            }
        }

        return workloads;
    }

    private static double? Mean(IEnumerable<double?> values)
    {
        double sum = 0;
        int count = 0;
        foreach (double? value in values)
        {
            if (value is double v && double.IsFinite(v))
            {
                sum += v;
                count++;
            }
        }

        return count > 0 ? sum / count : null;
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
