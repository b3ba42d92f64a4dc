using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// One workload's signals on a GPU it shares with others (time-slicing, MPS, fractional device plugins) or on a MIG
/// instance, at one moment: its own utilization where the source measures it per process or pod, and the fraction of
/// the GPU it requested where a device plugin grants one. The GPU's own power and utilization stay in
/// <see cref="GpuSample"/>; analytics splits a shared GPU's cost over its workloads by these signals
/// (docs/analytics.md, "Shared GPUs").
/// </summary>
public sealed record GpuWorkloadSample : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    public string? Cluster { get; init; }

    public required string Node { get; init; }

    public required int GpuIndex { get; init; }

    /// <summary>The physical GPU's UUID, as on its <see cref="GpuSample"/>.</summary>
    public required string GpuUuid { get; init; }

    /// <summary>The MIG GPU instance id when the workload runs on a MIG instance, else null.</summary>
    public string? MigInstance { get; init; }

    public string? Namespace { get; init; }

    public string? Pod { get; init; }

    public string? Container { get; init; }

    /// <summary>The workload's name where no pod names it (e.g. a process name).</summary>
    public string? Workload { get; init; }

    public string? ServedModel { get; init; }

    /// <summary>The tenant the sample is bound to at ingest; null for fleet sources.</summary>
    public string? Tenant { get; init; }

    /// <summary>Which signal source wrote it (e.g. <c>dcgm</c>, <c>hami</c>, <c>nvidia-smi-pmon</c>).</summary>
    public required string Source { get; init; }

    /// <summary>The workload's own utilization of the GPU (or of its MIG instance), 0–100 %.</summary>
    public double? UtilizationPercent { get; init; }

    /// <summary>The fraction of the GPU (or MIG instance) the workload requested, 0–1.</summary>
    public double? RequestedFraction { get; init; }

    public long? MemoryUsedBytes { get; init; }

    public long? MemoryLimitBytes { get; init; }

    /// <summary>
    /// How many workloads the source saw on the same GPU (or MIG instance) at that moment, this one included (field
    /// <c>workloads_on_gpu</c>). Every collector source sets it, so a workload whose source measures nothing of its own
    /// (dcgm-exporter's per-pod copies of a time-sliced GPU) is still stored.
    /// </summary>
    public long? WorkloadsOnGpu { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.GpuWorkload)
            .Tag(Tags.Cluster, Cluster)
            .Tag(Tags.Container, Container)
            .Tag(Tags.GpuIndex, GpuIndex.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Tag(Tags.MigInstance, MigInstance)
            .Tag(Tags.Namespace, Namespace)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pod, Pod)
            .Tag(Tags.ServedModel, ServedModel)
            .Tag(Tags.Source, Source)
            .Tag(Tags.Tenant, Tenant)
            .Tag(Tags.GpuUuid, GpuUuid)
            .Tag(Tags.Workload, Workload)
            .Field(Fields.MemoryLimitBytes, MemoryLimitBytes)
            .Field(Fields.MemoryUsedBytes, MemoryUsedBytes)
            .Field(Fields.RequestedFraction, RequestedFraction)
            .Field(Fields.UtilizationPercent, UtilizationPercent)
            .Field(Fields.WorkloadsOnGpu, WorkloadsOnGpu)
            .End(UnixTime.ToNanoseconds(Time));
    }
}
