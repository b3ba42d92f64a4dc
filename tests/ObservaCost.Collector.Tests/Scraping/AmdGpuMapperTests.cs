using System.Globalization;
using System.Text;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// The ROCm device-metrics-exporter mapper on pages built from the metric and label names in metricslist.md and
/// example-config-gpu.json (no real page capture exists in the shared data).
/// </summary>
public sealed class AmdGpuMapperTests
{
    private const long MiB = 1024 * 1024;

    private static readonly GpuScrapeContext Context = new()
    {
        ScrapeTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero),
        Node = "fallback-node",
        Pool = "mi300",
    };

    private static string Labels(int gpuId, string partitionType = "spx", int partitionId = 0, string pod = "") =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"card_model=\"AMD Instinct MI300X OAM\",card_series=\"MI300X\",gpu_compute_partition_type=\"{partitionType}\",gpu_id=\"{gpuId}\",gpu_partition_id=\"{partitionId}\",gpu_uuid=\"uuid-{gpuId}\",hostname=\"mi300-node-3\",serial_number=\"SN{gpuId}\",pod=\"{pod}\",namespace=\"{(pod.Length > 0 ? "serving" : "")}\",container=\"{(pod.Length > 0 ? "vllm" : "")}\"");

    /// <summary>An MI3xx page with two GPUs, the first allocated to a pod.</summary>
    private static string Mi300Page(string prefix)
    {
        var page = new StringBuilder();
        void Metric(string name, string type, string help, params (int Gpu, string Value)[] values)
        {
            page.Append("# HELP ").Append(prefix).Append(name).Append(' ').Append(help).Append('\n');
            page.Append("# TYPE ").Append(prefix).Append(name).Append(' ').Append(type).Append('\n');
            foreach ((int gpu, string value) in values)
            {
                page.Append(prefix).Append(name).Append('{').Append(Labels(gpu, pod: gpu == 0 ? "llama-70b-0" : "")).Append("} ").Append(value).Append('\n');
            }
        }

        Metric("gpu_nodes_total", "gauge", "Number of GPU nodes on the machine", (0, "2"), (1, "2"));
        Metric("gpu_gfx_activity", "gauge", "Graphics engine usage percentage (0 - 100)", (0, "87"), (1, "0"));
        Metric("gpu_umc_activity", "gauge", "Memory engine usage percentage (0 - 100)", (0, "35"), (1, "0"));
        Metric("gpu_package_power", "gauge", "Current socket power in Watts", (0, "650"), (1, "139"));
        Metric("gpu_power_usage", "gauge", "GPU power usage in Watts", (0, "640"), (1, "138"));
        Metric("gpu_energy_consumed", "counter", "Accumulated energy consumed by the GPU in Micro Joules (uJ)", (0, "1.23456789012e+11"), (1, "4.5e+09"));
        Metric("gpu_used_vram", "gauge", "Total VRAM memory used in MB", (0, "150000"), (1, "283"));
        Metric("gpu_free_vram", "gauge", "Total VRAM memory free in MB", (0, "46592"), (1, "196309"));
        Metric("gpu_total_vram", "gauge", "Total VRAM available in MB", (0, "196592"), (1, "196592"));
        Metric("gpu_junction_temperature", "gauge", "Hotspot (aka junction) temperature value in Celsius", (0, "71"), (1, "38"));
        Metric("gpu_memory_temperature", "gauge", "Memory temperature value in Celsius", (0, "55"), (1, "33"));
        Metric("gpu_clock", "gauge", "Clock measure of the GPU in Mhz", (0, "2100"), (1, "132"));
        Metric("gpu_health", "gauge", "Computed GPU health flag", (0, "1"), (1, "1"));
        return page.ToString();
    }

    private static GpuMappingResult Map(string page, AmdGpuMapper mapper) =>
        mapper.Map(PrometheusTextParser.ParseOnce(Encoding.UTF8.GetBytes(page)).Samples, Context);

    private static void AssertMi300(GpuMappingResult result)
    {
        Assert.Equal(2, result.Samples.Count);
        GpuSample busy = result.Samples[0];
        Assert.Equal(0, busy.GpuIndex);
        Assert.Equal("uuid-0", busy.GpuUuid);
        Assert.Equal("AMD Instinct MI300X OAM", busy.GpuModel);
        Assert.Equal("mi300-node-3", busy.Node);
        Assert.Equal("mi300", busy.Pool);
        Assert.Equal("llama-70b-0", busy.Pod);
        Assert.Equal("serving", busy.Namespace);
        Assert.Equal("vllm", busy.Container);
        Assert.Null(busy.MigInstance);
        Assert.Null(busy.MigProfile);
        Assert.Equal(87, busy.UtilizationPercent);
        Assert.Null(busy.GraphicsEngineActivityRatio);
        Assert.Equal(650, busy.PowerWatts);
        Assert.Equal(123456.789012, busy.EnergyJoules);
        Assert.Equal(150000 * MiB, busy.MemoryUsedBytes);
        Assert.Equal(196592 * MiB, busy.MemoryTotalBytes);
        Assert.Equal(71, busy.TemperatureCelsius);
        Assert.Null(busy.XidErrors);

        GpuSample idle = result.Samples[1];
        Assert.Equal(1, idle.GpuIndex);
        Assert.Null(idle.Pod);
        Assert.Null(idle.Namespace);
        Assert.Equal(139, idle.PowerWatts);
        Assert.Equal(4500, idle.EnergyJoules);
        Assert.Equal(283 * MiB, idle.MemoryUsedBytes);
        Assert.Equal(38, idle.TemperatureCelsius);
    }

    [Fact]
    public void Map_UnprefixedMi300Page_GivesHandCheckedReadings()
    {
        AssertMi300(Map(Mi300Page(string.Empty), new AmdGpuMapper()));
    }

    [Fact]
    public void Map_PrefixedPageWithConfiguredPrefix_GivesSameReadings()
    {
        AssertMi300(Map(Mi300Page("amd_"), new AmdGpuMapper("amd_")));
    }

    [Fact]
    public void Map_PrefixedPageWithoutConfiguredPrefix_DetectsThePrefix()
    {
        AssertMi300(Map(Mi300Page("amd_"), new AmdGpuMapper()));
    }

    [Fact]
    public void Map_ConfiguredPrefix_DoesNotMatchAnotherPrefix()
    {
        GpuMappingResult result = Map(Mi300Page("rocm_"), new AmdGpuMapper("amd_"));

        Assert.Empty(result.Samples);
    }

    [Fact]
    public void Map_Mi200Page_UsesAveragePowerEdgeTemperatureAndUsedPlusFree()
    {
        string labels = Labels(0);
        string page = $$"""
            gpu_average_package_power{{{labels}}} 301
            gpu_power_usage{{{labels}}} 290
            gpu_edge_temperature{{{labels}}} 49
            gpu_used_vram{{{labels}}} 1000
            gpu_free_vram{{{labels}}} 64000
            gpu_gfx_activity{{{labels}}} 65535
            """;

        GpuMappingResult result = Map(page, new AmdGpuMapper());

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Equal(301, gpu.PowerWatts);
        Assert.Equal(49, gpu.TemperatureCelsius);
        Assert.Equal(65000 * MiB, gpu.MemoryTotalBytes);
        Assert.Null(gpu.UtilizationPercent);
        Assert.Equal(1, result.BlankValues);
    }

    [Fact]
    public void Map_PowerUsageOnly_IsTheFallback()
    {
        GpuSample gpu = Assert.Single(Map($"gpu_power_usage{{{Labels(2)}}} 212.5\n", new AmdGpuMapper()).Samples);

        Assert.Equal(2, gpu.GpuIndex);
        Assert.Equal(212.5, gpu.PowerWatts);
    }

    [Fact]
    public void Map_CpxPartitions_BecomeSlicesWithPartitionType()
    {
        string page = $$"""
            gpu_gfx_activity{{{Labels(8, "cpx", 0)}}} 10
            gpu_package_power{{{Labels(8, "cpx", 0)}}} 700
            gpu_gfx_activity{ {{Labels(9, "cpx", 1).Replace(",", ", ", StringComparison.Ordinal)}} } 20
            gpu_package_power{{{Labels(9, "cpx", 1)}}} 0
            """;

        GpuMappingResult result = Map(page, new AmdGpuMapper());

        Assert.Equal([8, 9], result.Samples.Select(s => s.GpuIndex));
        Assert.Equal(["0", "1"], result.Samples.Select(s => s.MigInstance));
        Assert.Equal(["cpx", "cpx"], result.Samples.Select(s => s.MigProfile));
        Assert.Equal([10d, 20d], result.Samples.Select(s => s.UtilizationPercent!.Value));
        Assert.Equal([700d, 0d], result.Samples.Select(s => s.PowerWatts!.Value));
    }

    [Fact]
    public void Map_NoHostnameLabel_UsesContextNode()
    {
        GpuSample gpu = Assert.Single(Map("gpu_gfx_activity{gpu_id=\"0\"} 5\n", new AmdGpuMapper()).Samples);

        Assert.Equal("fallback-node", gpu.Node);
        // No gpu_uuid or serial_number label: the GPU is its index on the node (GpuIdentity).
        Assert.Equal("fallback-node/gpu0", gpu.GpuUuid);
    }
}
