using System.Globalization;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// Maps the OpenTelemetry hardware semantic conventions to <see cref="GpuSample"/>: <c>hw.gpu.utilization</c>
/// (ratio 0–1 → %; the <c>hw.gpu.task</c> "general" or unset), <c>hw.gpu.power.draw</c> or <c>hw.power</c> with
/// <c>hw.type=gpu</c> (W), <c>hw.gpu.energy</c> or <c>hw.energy</c> with <c>hw.type=gpu</c> (J), <c>hw.gpu.memory.usage</c>
/// and <c>hw.gpu.memory.limit</c> (By). A GPU is identified by <c>hw.id</c> on the node named by the resource's
/// <c>host.name</c> (or <c>k8s.node.name</c>); points of one GPU at one time become one sample.
/// </summary>
public static class OtlpGpuMapper
{
    public static (List<GpuSample> Samples, int Ignored, List<OtlpRejection> Rejections) Map(OtlpExport export)
    {
        ArgumentNullException.ThrowIfNull(export);
        var byGpu = new Dictionary<(string Node, string Id, long Time), Builder>();
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

            if (!point.Attributes.TryGetValue("hw.id", out string? id) || id.Length == 0)
            {
                rejections.Add(new OtlpRejection(point.MetricName, "data point has no hw.id attribute to tell the GPU"));
                continue;
            }

            string node = point.ResourceAttributes.GetValueOrDefault("host.name")
                ?? point.ResourceAttributes.GetValueOrDefault("k8s.node.name")
                ?? point.Attributes.GetValueOrDefault("host.name")
                ?? "unknown";
            if (!byGpu.TryGetValue((node, id, point.TimeUnixNano), out Builder? builder))
            {
                builder = new Builder(node, id, point);
                byGpu.Add((node, id, point.TimeUnixNano), builder);
            }

            builder.Apply(reading.Value, point.Value);
        }

        return (byGpu.Values.Select(b => b.Build()).ToList(), ignored, rejections);
    }

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
            string? index = a.GetValueOrDefault("gpu.index") ?? a.GetValueOrDefault("hw.gpu.index");
            return new GpuSample
            {
                Time = UnixTime.FromNanoseconds(first.TimeUnixNano),
                Cluster = r.GetValueOrDefault("k8s.cluster.name"),
                Node = node,
                GpuIndex = int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : 0,
                GpuUuid = id,
                GpuModel = a.GetValueOrDefault("hw.model") ?? a.GetValueOrDefault("hw.name"),
                Pool = a.GetValueOrDefault("observacost.pool") ?? r.GetValueOrDefault("observacost.pool"),
                Namespace = r.GetValueOrDefault("k8s.namespace.name"),
                Pod = r.GetValueOrDefault("k8s.pod.name"),
                UtilizationPercent = _utilizationPercent,
                PowerWatts = _powerWatts,
                EnergyJoules = _energyJoules,
                MemoryUsedBytes = _memoryUsed,
                MemoryTotalBytes = _memoryTotal,
            };
        }
    }
}
