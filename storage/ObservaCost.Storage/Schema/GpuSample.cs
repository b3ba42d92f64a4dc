using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>One reading of one GPU (or MIG instance). Optional readings are null when the source lacks them.</summary>
public sealed record GpuSample : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    public string? Cluster { get; init; }

    public required string Node { get; init; }

    public required int GpuIndex { get; init; }

    public string? GpuUuid { get; init; }

    /// <summary>The GPU's name as the source gives it; stored as its canonical key in <c>gpu_model</c> (<see cref="GpuModelName"/>), the full name in the field <c>gpu_name</c>.</summary>
    public string? GpuModel { get; init; }

    public string? Pool { get; init; }

    /// <summary>MIG GPU instance id, if this is a MIG slice.</summary>
    public string? MigInstance { get; init; }

    /// <summary>MIG profile, e.g. <c>1g.10gb</c>.</summary>
    public string? MigProfile { get; init; }

    public string? Namespace { get; init; }

    /// <summary>
    /// The tenant the sample is bound to (a tenant ingest token, a scrape target configured with a tenant); the cost
    /// of a sample with a tenant goes to that tenant whatever its namespace. Null for fleet sources.
    /// </summary>
    public string? Tenant { get; init; }

    /// <summary>The pod the GPU is allocated to; null or empty means unallocated.</summary>
    public string? Pod { get; init; }

    public string? Container { get; init; }

    /// <summary>The model served on this GPU, if known.</summary>
    public string? ServedModel { get; init; }

    /// <summary>Coarse GPU utilization, 0–100 %.</summary>
    public double? UtilizationPercent { get; init; }

    /// <summary>Graphics-engine (SM) activity, 0–1, where the source has it (DCGM profiling).</summary>
    public double? GraphicsEngineActivityRatio { get; init; }

    public double? PowerWatts { get; init; }

    /// <summary>The GPU's energy counter, joules since driver load; it resets on reload.</summary>
    public double? EnergyJoules { get; init; }

    public long? MemoryUsedBytes { get; init; }

    public long? MemoryTotalBytes { get; init; }

    public double? TemperatureCelsius { get; init; }

    /// <summary>The last Xid error code reported (0: none).</summary>
    public long? XidErrors { get; init; }

    /// <summary>
    /// Where the reading comes from when it is not a real GPU: <c>simulated</c> for the fleet simulator (tag
    /// <c>source</c>), so demo data can never be mistaken for a real fleet. Null for real sources.
    /// </summary>
    public string? Source { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        string? modelKey = GpuModelName.Canonical(GpuModel);
        return writer.Begin(Measurements.GpuSample)
            .Tag(Tags.Cluster, Cluster)
            .Tag(Tags.Container, Container)
            .Tag(Tags.GpuIndex, GpuIndexText(GpuIndex))
            .Tag(Tags.GpuModel, modelKey)
            .Tag(Tags.MigInstance, MigInstance)
            .Tag(Tags.MigProfile, MigProfile)
            .Tag(Tags.Namespace, Namespace)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pod, Pod)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.ServedModel, ServedModel)
            .Tag(Tags.Source, Source)
            .Tag(Tags.Tenant, Tenant)
            .Tag(Tags.GpuUuid, GpuUuid)
            .Field(Fields.EnergyJoules, EnergyJoules)
            .Field(Fields.GpuName, string.Equals(modelKey, GpuModel, StringComparison.Ordinal) ? null : GpuModel)
            .Field(Fields.GraphicsEngineActivityRatio, GraphicsEngineActivityRatio)
            .Field(Fields.MemoryTotalBytes, MemoryTotalBytes)
            .Field(Fields.MemoryUsedBytes, MemoryUsedBytes)
            .Field(Fields.PowerWatts, PowerWatts)
            .Field(Fields.TemperatureCelsius, TemperatureCelsius)
            .Field(Fields.UtilizationPercent, UtilizationPercent)
            .Field(Fields.XidErrors, XidErrors)
            .End(UnixTime.ToNanoseconds(Time));
    }

    private static readonly string[] SmallIndexes = Enumerable.Range(0, 64).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private static string GpuIndexText(int index) =>
        (uint)index < (uint)SmallIndexes.Length ? SmallIndexes[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
