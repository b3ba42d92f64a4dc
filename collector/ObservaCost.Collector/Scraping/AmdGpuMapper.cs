using System.Collections.Frozen;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Maps a ROCm device-metrics-exporter page to one <c>GpuSample</c> per GPU or compute partition. Metric names are the
/// lowercase field names (<c>gpu_gfx_activity</c>, <c>gpu_package_power</c>, …), with or without the exporter's
/// <c>MetricsFieldPrefix</c> (e.g. <c>amd_</c>).
/// </summary>
/// <remarks>
/// Units: <c>gpu_gfx_activity</c> in %; power in W from <c>gpu_package_power</c> (MI3xx), else
/// <c>gpu_average_package_power</c> (MI2xx), else <c>gpu_power_usage</c>; <c>gpu_energy_consumed</c> in µJ (read as
/// joules); VRAM in MB as amd-smi reports it, i.e. MiB (read as bytes); temperature from
/// <c>gpu_junction_temperature</c> (MI3xx), else <c>gpu_edge_temperature</c> (MI2xx). Labels: <c>gpu_id</c>,
/// <c>gpu_uuid</c> (else <c>serial_number</c>), <c>card_model</c> (else <c>card_series</c>), <c>hostname</c>,
/// <c>pod</c>, <c>namespace</c>, <c>container</c>. A GPU in a CPX/DPX/QPX compute partition mode becomes a slice:
/// <c>gpu_partition_id</c> as the instance and the partition type as the profile; SPX is a whole GPU.
/// </remarks>
public sealed class AmdGpuMapper : IGpuExporterMapper
{
    /// <summary>amd-smi's 16-bit "not available" value; activity, power and temperature at or above it are left null.</summary>
    public const double UInt16NotAvailable = 65535;

    /// <summary>amd-smi's 32-bit "not available" value, for VRAM sizes.</summary>
    public const double UInt32NotAvailable = 4294967295;

    /// <summary>amd-smi's 64-bit "not available" value, for the energy counter.</summary>
    public const double UInt64NotAvailable = 1.8e19;

    private static readonly FrozenDictionary<string, GpuMetricRule> BaseRules = new Dictionary<string, GpuMetricRule>(StringComparer.Ordinal)
    {
        ["gpu_gfx_activity"] = new(GpuField.UtilizationPercent, 1, UInt16NotAvailable),
        ["gpu_package_power"] = new(GpuField.PowerWatts, 1, UInt16NotAvailable, Priority: 0),
        ["gpu_average_package_power"] = new(GpuField.PowerWatts, 1, UInt16NotAvailable, Priority: 1),
        ["gpu_power_usage"] = new(GpuField.PowerWatts, 1, UInt16NotAvailable, Priority: 2),
        ["gpu_energy_consumed"] = new(GpuField.EnergyJoules, 1, UInt64NotAvailable, Divisor: 1e6),
        ["gpu_used_vram"] = GpuPageMapper.MebibytesRule(GpuField.MemoryUsedBytes, UInt32NotAvailable),
        ["gpu_free_vram"] = GpuPageMapper.MebibytesRule(GpuField.MemoryFreeBytes, UInt32NotAvailable),
        ["gpu_total_vram"] = GpuPageMapper.MebibytesRule(GpuField.MemoryTotalBytes, UInt32NotAvailable),
        ["gpu_junction_temperature"] = new(GpuField.TemperatureCelsius, 1, UInt16NotAvailable, Priority: 0),
        ["gpu_edge_temperature"] = new(GpuField.TemperatureCelsius, 1, UInt16NotAvailable, Priority: 1),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly GpuExporterDialect _dialect;

    /// <summary>
    /// <paramref name="metricPrefix"/>: the exporter's <c>MetricsFieldPrefix</c>. When null, names are matched as they
    /// are and, failing that, after any prefix ending in <c>_</c> (so <c>amd_gpu_gfx_activity</c> is found).
    /// </summary>
    public AmdGpuMapper(string? metricPrefix = null)
    {
        Dictionary<string, GpuMetricRule> rules = new(BaseRules, StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(metricPrefix))
        {
            foreach (KeyValuePair<string, GpuMetricRule> rule in BaseRules)
            {
                rules[metricPrefix + rule.Key] = rule.Value;
            }
        }

        _dialect = new GpuExporterDialect
        {
            Rules = rules.ToFrozenDictionary(StringComparer.Ordinal),
            FallbackRule = metricPrefix is null ? RuleAfterAnyPrefix : null,
            IndexLabels = ["gpu_id"],
            UuidLabels = ["gpu_uuid", "serial_number"],
            ModelLabels = ["card_model", "card_series"],
            NodeLabels = ["hostname"],
            PodLabels = ["pod"],
            NamespaceLabels = ["namespace"],
            ContainerLabels = ["container"],
            Slice = Partition,
            WorkloadSource = "amd",
        };
    }

    public GpuMappingResult Map(IReadOnlyList<PrometheusSample> samples, GpuScrapeContext context) =>
        GpuPageMapper.Map(_dialect, samples, context);

    private static GpuMetricRule? RuleAfterAnyPrefix(string name)
    {
        FrozenDictionary<string, GpuMetricRule>.AlternateLookup<ReadOnlySpan<char>> lookup = BaseRules.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int i = name.IndexOf('_', StringComparison.Ordinal); i >= 0 && i < name.Length - 1; i = name.IndexOf('_', i + 1))
        {
            if (lookup.TryGetValue(name.AsSpan(i + 1), out GpuMetricRule rule))
            {
                return rule;
            }
        }

        return null;
    }

    private static (string? Instance, string? Profile) Partition(LabelReader labels)
    {
        string? type = labels.Get("gpu_compute_partition_type");
        if (type is null
            || string.Equals(type, "spx", StringComparison.OrdinalIgnoreCase)
            || string.Equals(type, "na", StringComparison.OrdinalIgnoreCase)
            || string.Equals(type, "n/a", StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        return (labels.Get("gpu_partition_id"), type);
    }
}
