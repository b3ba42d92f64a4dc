using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// Maps the OpenTelemetry hardware semantic conventions to <see cref="GpuSample"/>: <c>hw.gpu.utilization</c>
/// (ratio 0–1 → %; the <c>hw.gpu.task</c> "general" or unset), <c>hw.gpu.power.draw</c> or <c>hw.power</c> with
/// <c>hw.type=gpu</c> (W), <c>hw.gpu.energy</c> or <c>hw.energy</c> with <c>hw.type=gpu</c> (J), <c>hw.gpu.memory.usage</c>
/// and <c>hw.gpu.memory.limit</c> (By). A GPU is identified by the rule of <see cref="GpuIdentity"/>: its UUID when the
/// point carries one (<c>gpu.uuid</c> or <c>hw.gpu.uuid</c>, or an <c>hw.id</c> that is a UUID: "GPU-…", "MIG-…" or a
/// GUID); else its PCI bus id (<c>pci.bus_id</c> or <c>pci_bus_id</c>) or its index (<c>gpu.index</c>,
/// <c>hw.gpu.index</c>, else the host-unique <c>hw.id</c>) on the node named by the resource's <c>host.name</c>,
/// <c>host.id</c> or <c>k8s.node.name</c>. <c>hw.id</c> alone is unique only within a host, so a point with neither a
/// UUID nor a node is refused with its reason; points of one GPU at one time become one sample.
/// </summary>
public static class OtlpGpuMapper
{
    public static (List<GpuSample> Samples, int Ignored, List<OtlpRejection> Rejections) Map(OtlpExport export)
    {
        ArgumentNullException.ThrowIfNull(export);
        var byGpu = new Dictionary<(string Identity, long Time), Builder>();
        var rejections = new List<OtlpRejection>(export.Rejections);
        int ignored = 0;
        foreach (OtlpDataPoint point in export.Points)
        {
            Reading? reading = Classify(point);
            if (reading is null)
            {
                ignored++;
                continue;
            }

            if (!double.IsFinite(point.Value) || point.Value < 0)
            {
                rejections.Add(new OtlpRejection(point.MetricName, string.Create(CultureInfo.InvariantCulture, $"value {point.Value} is not a finite non-negative number")));
                continue;
            }

            (string? identity, string? node) = Identify(point);
            if (identity is null)
            {
                rejections.Add(new OtlpRejection(point.MetricName, MissingIdentityReason));
                continue;
            }

            if (!byGpu.TryGetValue((identity, point.TimeUnixNano), out Builder? builder))
            {
                builder = new Builder(node ?? UnknownNode, identity, point);
                byGpu.Add((identity, point.TimeUnixNano), builder);
            }

            builder.Apply(reading.Value, point.Value);
        }

        return (byGpu.Values.Select(b => b.Build()).ToList(), ignored, rejections);
    }

    public const string MissingIdentityReason =
        "data point has no GPU identity: send a GPU uuid (hw.id \"GPU-…\", gpu.uuid or hw.gpu.uuid), or the resource attribute host.name (or host.id, k8s.node.name) with pci.bus_id, gpu.index or the host-unique hw.id; hw.id alone would merge GPUs of different hosts";

    /// <summary>The node of a GPU identified by its UUID when the resource names no host.</summary>
    private const string UnknownNode = "unknown";

    private static readonly string[] UuidAttributes = ["gpu.uuid", "hw.gpu.uuid"];
    private static readonly string[] PciBusIdAttributes = ["pci.bus_id", GpuIdentity.PciBusIdTag];
    private static readonly string[] IndexAttributes = ["gpu.index", "hw.gpu.index"];
    private static readonly string[] NodeAttributes = ["host.name", "host.id", "k8s.node.name"];

    /// <summary>The point's GPU identity (<see cref="GpuIdentity"/>) and its node; the identity is null when it has none.</summary>
    private static (string? Identity, string? Node) Identify(OtlpDataPoint point)
    {
        IReadOnlyDictionary<string, string> a = point.Attributes;
        string? hwId = NonEmpty(a.GetValueOrDefault("hw.id"));
        string? uuid = First(a, UuidAttributes) ?? (hwId is not null && IsGpuUuid(hwId) ? hwId : null);
        string? node = First(point.ResourceAttributes, NodeAttributes) ?? NonEmpty(a.GetValueOrDefault("host.name"));
        string? index = First(a, IndexAttributes) ?? (uuid is null ? hwId : null);
        return (GpuIdentity.Of(uuid, First(a, PciBusIdAttributes), node, index), node);
    }

    /// <summary>True for a vendor GPU UUID: NVIDIA's "GPU-…" (or a MIG device's "MIG-…"), or a GUID.</summary>
    private static bool IsGpuUuid(string id) =>
        id.StartsWith("GPU-", StringComparison.OrdinalIgnoreCase)
        || id.StartsWith("MIG-", StringComparison.OrdinalIgnoreCase)
        || Guid.TryParse(id, CultureInfo.InvariantCulture, out _);

    private static string? First(IReadOnlyDictionary<string, string> attributes, string[] keys)
    {
        foreach (string key in keys)
        {
            if (NonEmpty(attributes.GetValueOrDefault(key)) is { } value)
            {
                return value;
            }
        }

        return null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private enum Reading
    {
        UtilizationRatio,
        PowerWatts,
        EnergyJoules,
        MemoryUsedBytes,
        MemoryTotalBytes,
    }

    private static Reading? Classify(OtlpDataPoint p)
    {
        bool isGpu = !p.Attributes.TryGetValue("hw.type", out string? type) || string.Equals(type, "gpu", StringComparison.Ordinal);
        return p.MetricName switch
        {
            "hw.gpu.utilization" when !p.Attributes.TryGetValue("hw.gpu.task", out string? task) || task is "general" => Reading.UtilizationRatio,
            "hw.gpu.power.draw" => Reading.PowerWatts,
            "hw.power" when isGpu && p.Attributes.ContainsKey("hw.type") => Reading.PowerWatts,
            "hw.gpu.energy" => Reading.EnergyJoules,
            "hw.energy" when isGpu && p.Attributes.ContainsKey("hw.type") => Reading.EnergyJoules,
            "hw.gpu.memory.usage" => Reading.MemoryUsedBytes,
            "hw.gpu.memory.limit" => Reading.MemoryTotalBytes,
            _ => null,
        };
    }

    private sealed class Builder(string node, string id, OtlpDataPoint first)
    {
        private double? _utilizationPercent;
        private double? _powerWatts;
        private double? _energyJoules;
        private long? _memoryUsed;
        private long? _memoryTotal;

        public void Apply(Reading reading, double value)
        {
            switch (reading)
            {
                case Reading.UtilizationRatio:
                    _utilizationPercent = value * 100;
                    break;
                case Reading.PowerWatts:
                    _powerWatts = value;
                    break;
                case Reading.EnergyJoules:
                    _energyJoules = value;
                    break;
                case Reading.MemoryUsedBytes:
                    _memoryUsed = (long)value;
                    break;
                default:
                    _memoryTotal = (long)value;
                    break;
            }
        }

        public GpuSample Build()
        {
            IReadOnlyDictionary<string, string> a = first.Attributes;
            IReadOnlyDictionary<string, string> r = first.ResourceAttributes;
            string? index = First(a, IndexAttributes) ?? a.GetValueOrDefault("hw.id");
            return new GpuSample
            {
                Time = UnixTime.FromNanoseconds(first.TimeUnixNano),
                Cluster = r.GetValueOrDefault("k8s.cluster.name"),
                Node = node,
                GpuIndex = int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : 0,
                GpuUuid = id,
                GpuModel = a.GetValueOrDefault("hw.model") ?? a.GetValueOrDefault("hw.name"),
                Pool = a.GetValueOrDefault("observacost.pool") ?? r.GetValueOrDefault("observacost.pool"),
                Namespace = a.GetValueOrDefault("k8s.namespace.name") ?? r.GetValueOrDefault("k8s.namespace.name"),
                Pod = a.GetValueOrDefault("k8s.pod.name") ?? r.GetValueOrDefault("k8s.pod.name"),
                Container = a.GetValueOrDefault("k8s.container.name") ?? r.GetValueOrDefault("k8s.container.name"),
                ServedModel = a.GetValueOrDefault("observacost.served_model") ?? r.GetValueOrDefault("observacost.served_model"),
                UtilizationPercent = _utilizationPercent,
                PowerWatts = _powerWatts,
                EnergyJoules = _energyJoules,
                MemoryUsedBytes = _memoryUsed,
                MemoryTotalBytes = _memoryTotal,
            };
        }
    }
}
