using System.Collections.Frozen;
using System.Globalization;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Maps the page of HAMi's vGPU monitor (the <c>hami-device-plugin</c> DaemonSet, port 9394) to one
/// <see cref="GpuWorkloadSample"/> per container and GPU (source <c>hami</c>). It writes no <see cref="GpuSample"/>: the
/// GPU's own readings come from dcgm-exporter or nvidia-smi on the same node.
/// </summary>
/// <remarks>
/// <para>Names (HAMi ≤ 2.9, and later with <c>--legacy-metrics</c>) and their 2.10 successors, all read:</para>
/// <list type="table">
/// <item><term><c>vGPU_device_memory_usage_in_bytes</c> / <c>hami_vgpu_memory_used_bytes</c></term><description>the container's memory used, bytes.</description></item>
/// <item><term><c>vGPU_device_memory_limit_in_bytes</c> / <c>hami_vgpu_memory_limit_bytes</c></term><description>the container's memory limit (its <c>nvidia.com/gpumem</c>), bytes.</description></item>
/// <item><term><c>Device_utilization_desc_of_container</c> / <c>hami_container_device_utilization_ratio</c></term><description>the container's own SM utilization, 0–100 (despite the name "ratio").</description></item>
/// <item><term><c>HostGPUMemoryUsage</c> / <c>hami_host_gpu_memory_used_bytes</c>, <c>HostCoreUtilization</c> / <c>hami_host_gpu_utilization_ratio</c></term><description>device level: read only for the GPU index of a UUID (<c>deviceidx</c> / <c>device_index</c>).</description></item>
/// <item><term><c>GPUDeviceMemoryLimit</c> / <c>hami_gpu_memory_limit_bytes</c></term><description>the GPU's memory, bytes (the scheduler's page, when scraped together).</description></item>
/// </list>
/// <para>
/// Container labels: <c>podnamespace</c>/<c>namespace</c>, <c>podname</c>/<c>pod</c>, <c>ctrname</c>/<c>container</c>,
/// <c>deviceuuid</c>/<c>device_uuid</c>. The requested fraction is the memory limit over the GPU's memory when the page
/// gives the GPU's memory; otherwise it is left null and the memory limit is written, so analytics can divide it by
/// the GPU sample's <c>memory_total_bytes</c>. The core share (<c>nvidia.com/gpucores</c>) is not on the monitor's page.
/// </para>
/// </remarks>
public sealed class HamiMapper : IGpuExporterMapper
{
    /// <summary>The <c>source</c> tag of the workloads written from a HAMi page.</summary>
    public const string WorkloadSourceTag = "hami";

    private enum HamiField
    {
        MemoryUsedBytes,
        MemoryLimitBytes,
        UtilizationPercent,
        DeviceIndex,
        GpuMemoryBytes,
    }

    private static readonly FrozenDictionary<string, HamiField> Metrics = new Dictionary<string, HamiField>(StringComparer.Ordinal)
    {
        ["vGPU_device_memory_usage_in_bytes"] = HamiField.MemoryUsedBytes,
        ["hami_vgpu_memory_used_bytes"] = HamiField.MemoryUsedBytes,
        ["vGPU_device_memory_limit_in_bytes"] = HamiField.MemoryLimitBytes,
        ["hami_vgpu_memory_limit_bytes"] = HamiField.MemoryLimitBytes,
        ["Device_utilization_desc_of_container"] = HamiField.UtilizationPercent,
        ["hami_container_device_utilization_ratio"] = HamiField.UtilizationPercent,
        ["HostGPUMemoryUsage"] = HamiField.DeviceIndex,
        ["hami_host_gpu_memory_used_bytes"] = HamiField.DeviceIndex,
        ["HostCoreUtilization"] = HamiField.DeviceIndex,
        ["hami_host_gpu_utilization_ratio"] = HamiField.DeviceIndex,
        ["GPUDeviceMemoryLimit"] = HamiField.GpuMemoryBytes,
        ["hami_gpu_memory_limit_bytes"] = HamiField.GpuMemoryBytes,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string[] UuidLabels = ["deviceuuid", "device_uuid"];
    private static readonly string[] IndexLabels = ["deviceidx", "device_index"];
    private static readonly string[] NamespaceLabels = ["podnamespace", "namespace"];
    private static readonly string[] PodLabels = ["podname", "pod"];
    private static readonly string[] ContainerLabels = ["ctrname", "container"];

    public GpuMappingResult Map(IReadOnlyList<PrometheusSample> samples, GpuScrapeContext context)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(context);
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        var gpuMemory = new Dictionary<string, double>(StringComparer.Ordinal);
        var containers = new Dictionary<(string Uuid, string? Namespace, string Pod, string? Container), double?[]>();
        var perGpu = new Dictionary<string, int>(StringComparer.Ordinal);
        var rejections = new SampleRejections();
        int mapped = 0, overLimit = 0;
        foreach (PrometheusSample sample in samples)
        {
            if (!Metrics.TryGetValue(sample.Name, out HamiField field))
            {
                continue;
            }

            var labels = new LabelReader(sample.Labels, context.ExtraLabels);
            string? uuid = labels.First(UuidLabels);
            if (uuid is null)
            {
                continue;
            }

            if (field == HamiField.DeviceIndex)
            {
                if (int.TryParse(labels.First(IndexLabels), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                {
                    indexes[uuid] = index;
                }

                continue;
            }

            double value = sample.Value;
            if (!double.IsFinite(value) || value < 0 || (field == HamiField.UtilizationPercent && value > 100))
            {
                rejections.Add(
                    !double.IsFinite(value) ? PrometheusErrorKind.NonFiniteValue : value < 0 ? PrometheusErrorKind.NegativeValue : PrometheusErrorKind.AboveMaximum,
                    string.Create(CultureInfo.InvariantCulture, $"{sample.Name}{sample.Labels} is {value}: not a {field} reading"));
                continue;
            }

            mapped++;
            if (field == HamiField.GpuMemoryBytes)
            {
                gpuMemory[uuid] = value;
                continue;
            }

            string? pod = labels.First(PodLabels);
            if (pod is null)
            {
                continue;
            }

            var key = (uuid, labels.First(NamespaceLabels), pod, labels.First(ContainerLabels));
            if (!containers.TryGetValue(key, out double?[]? values))
            {
                int count = perGpu.GetValueOrDefault(uuid);
                if (count >= context.MaxWorkloadsPerGpu)
                {
                    overLimit++;
                    continue;
                }

                perGpu[uuid] = count + 1;
                values = new double?[3];
                containers.Add(key, values);
            }

            values[(int)field] = value;
        }

        var workloads = new List<GpuWorkloadSample>(containers.Count);
        int withoutIndex = 0;
        foreach (KeyValuePair<(string Uuid, string? Namespace, string Pod, string? Container), double?[]> c in containers
            .OrderBy(c => c.Key.Uuid, StringComparer.Ordinal).ThenBy(c => c.Key.Namespace, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Pod, StringComparer.Ordinal).ThenBy(c => c.Key.Container, StringComparer.Ordinal))
        {
            if (!indexes.TryGetValue(c.Key.Uuid, out int index))
            {
                withoutIndex++;
                continue;
            }

            double? limit = c.Value[(int)HamiField.MemoryLimitBytes];
            double? fraction = limit is double l && gpuMemory.TryGetValue(c.Key.Uuid, out double total) && total > 0 ? Math.Min(1, l / total) : null;
            string? servedModel = context.ServedModelLabel is null ? null : context.ExtraLabels?.GetValueOrDefault(context.ServedModelLabel);
            servedModel ??= context.ServedModelResolver?.Invoke(c.Key.Namespace, c.Key.Pod);
            workloads.Add(new GpuWorkloadSample
            {
                Time = context.ScrapeTime,
                Cluster = context.Cluster,
                Node = context.Node,
                GpuIndex = index,
                GpuUuid = c.Key.Uuid,
                Namespace = c.Key.Namespace,
                Pod = c.Key.Pod,
                Container = c.Key.Container,
                ServedModel = servedModel,
                Source = WorkloadSourceTag,
                UtilizationPercent = c.Value[(int)HamiField.UtilizationPercent],
                RequestedFraction = fraction,
                MemoryUsedBytes = ToBytes(c.Value[(int)HamiField.MemoryUsedBytes]),
                MemoryLimitBytes = ToBytes(limit),
                WorkloadsOnGpu = perGpu[c.Key.Uuid],
            });
        }

        return new GpuMappingResult
        {
            Samples = [],
            Workloads = workloads,
            SamplesMapped = mapped,
            SamplesWithoutGpuIndex = withoutIndex,
            Rejections = rejections,
            WorkloadsOverLimit = overLimit,
        };
    }

    private static long? ToBytes(double? value) => value is double v ? (long)Math.Round(v) : null;
}
