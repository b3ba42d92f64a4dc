using System.Collections.Frozen;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Maps an NVIDIA dcgm-exporter page (4.x names such as <c>DCGM_FI_DEV_GPU_UTIL</c>, and the 1.x names such as
/// <c>dcgm_gpu_utilization</c>) to one <c>GpuSample</c> per GPU or MIG instance.
/// </summary>
/// <remarks>
/// Units: utilization in %, <c>DCGM_FI_PROF_GR_ENGINE_ACTIVE</c> a 0–1 ratio, power in W, the energy counter in mJ
/// (read as joules), framebuffer in MiB (read as bytes; total is <c>FB_TOTAL</c> when exported, otherwise
/// used + free + reserved). Labels are read in both spellings: <c>UUID</c>/<c>uuid</c>, <c>Hostname</c>/<c>hostname</c>,
/// <c>pod</c>/<c>pod_name</c>, <c>namespace</c>/<c>pod_namespace</c>, <c>container</c>/<c>container_name</c> (and the
/// <c>exported_*</c> names Prometheus gives them behind a federation). <c>pod=""</c> means unallocated. DCGM's blank
/// sentinels (unsupported field) are left null.
/// <para>
/// MIG: a series with <c>GPU_I_ID</c> is that GPU instance's (profile from <c>GPU_I_PROFILE</c>, same <c>UUID</c> as
/// the physical GPU); power and energy are the physical GPU's and are kept on the whole-GPU sample only. Shared GPUs:
/// dcgm-exporter with <c>-k</c> repeats a time-sliced GPU's series once per pod with the same values; the GPU gets one
/// sample without a pod and each pod a <c>gpu_workload</c> (source <c>dcgm</c>) without utilization.
/// </para>
/// </remarks>
public sealed class DcgmMapper : IGpuExporterMapper
{
    /// <summary>DCGM_INT32_BLANK: integer fields at or above it are "no value".</summary>
    public const double Int32Blank = 2147483632;

    /// <summary>DCGM_INT64_BLANK as a double: 64-bit counters at or above it are "no value".</summary>
    public const double Int64Blank = 9.2e18;

    /// <summary>DCGM_FP64_BLANK: float fields at or above it are "no value".</summary>
    public const double Fp64Blank = 140737488355328.0;

    private static readonly GpuExporterDialect Dialect = new()
    {
        Rules = BuildRules(),
        IndexLabels = ["gpu"],
        DeviceLabels = ["device"],
        UuidLabels = ["UUID", "uuid"],
        ModelLabels = ["modelName"],
        NodeLabels = ["Hostname", "hostname"],
        PodLabels = ["exported_pod", "pod", "pod_name"],
        NamespaceLabels = ["exported_namespace", "namespace", "pod_namespace"],
        ContainerLabels = ["exported_container", "container", "container_name"],
        Slice = labels => (labels.Get("GPU_I_ID"), labels.Get("GPU_I_PROFILE")),
        WorkloadSource = WorkloadSourceTag,
        DeviceReadingsBelongToWholeGpu = true,
    };

    /// <summary>The <c>source</c> tag of the workloads of a shared GPU seen on a dcgm-exporter page.</summary>
    public const string WorkloadSourceTag = "dcgm";

    public GpuMappingResult Map(IReadOnlyList<PrometheusSample> samples, GpuScrapeContext context) =>
        GpuPageMapper.Map(Dialect, samples, context);

    private static FrozenDictionary<string, GpuMetricRule> BuildRules()
    {
        var rules = new Dictionary<string, GpuMetricRule>(StringComparer.Ordinal);
        void Add(GpuMetricRule rule, params string[] names)
        {
            foreach (string name in names)
            {
                rules.Add(name, rule);
            }
        }

        Add(new(GpuField.UtilizationPercent, 1, Int32Blank), "DCGM_FI_DEV_GPU_UTIL", "dcgm_gpu_utilization");
        Add(new(GpuField.GraphicsEngineActivityRatio, 1, Fp64Blank), "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "dcgm_fi_prof_gr_engine_active");
        Add(new(GpuField.PowerWatts, 1, Fp64Blank), "DCGM_FI_DEV_POWER_USAGE", "dcgm_power_usage");
        Add(new(GpuField.EnergyJoules, 1, Int64Blank, Divisor: 1000), "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "dcgm_total_energy_consumption");
        Add(GpuPageMapper.MebibytesRule(GpuField.MemoryUsedBytes, Int32Blank), "DCGM_FI_DEV_FB_USED", "dcgm_fb_used");
        Add(GpuPageMapper.MebibytesRule(GpuField.MemoryFreeBytes, Int32Blank), "DCGM_FI_DEV_FB_FREE", "dcgm_fb_free");
        Add(GpuPageMapper.MebibytesRule(GpuField.MemoryReservedBytes, Int32Blank), "DCGM_FI_DEV_FB_RESERVED");
        Add(GpuPageMapper.MebibytesRule(GpuField.MemoryTotalBytes, Int32Blank), "DCGM_FI_DEV_FB_TOTAL");
        Add(new(GpuField.TemperatureCelsius, 1, Int32Blank), "DCGM_FI_DEV_GPU_TEMP", "dcgm_gpu_temp");
        Add(new(GpuField.XidErrors, 1, Int32Blank), "DCGM_FI_DEV_XID_ERRORS", "dcgm_xid_errors");
        return rules.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
