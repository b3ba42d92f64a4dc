using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

public sealed class DcgmMapperTests
{
    private const long MiB = 1024 * 1024;

    private static readonly DateTimeOffset ScrapeTime = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly GpuScrapeContext Context = new()
    {
        ScrapeTime = ScrapeTime,
        Node = "fallback-node",
        Cluster = "prod-eu",
        Pool = "inference",
    };

    private static GpuMappingResult MapCapture(string file, GpuScrapeContext? context = null) =>
        new DcgmMapper().Map(Captures.Parse(Captures.Dcgm(file)).Samples, context ?? Context);

    private static GpuMappingResult MapPage(string page, GpuScrapeContext? context = null) =>
        new DcgmMapper().Map(PrometheusTextParser.ParseOnce(System.Text.Encoding.UTF8.GetBytes(page)).Samples, context ?? Context);

    /// <summary>
    /// A page without UUID labels (an exporter configured without them): each GPU is its bus id on the node, else its
    /// index on the node (GpuIdentity), so the two GPUs of the node do not merge into one uuid-less series.
    /// </summary>
    [Fact]
    public void Map_PageWithoutUuid_GpusKeyedByBusIdElseIndexOnTheNode()
    {
        const string page = """
            DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="node-7",pci_bus_id="00000000:3b:00.0",modelName="NVIDIA H100 80GB HBM3"} 600
            DCGM_FI_DEV_POWER_USAGE{gpu="1",Hostname="node-7",modelName="NVIDIA H100 80GB HBM3"} 500
            """;

        GpuMappingResult result = MapPage(page);

        Assert.Equal(["node-7/pci:00000000:3B:00.0", "node-7/gpu1"], result.Samples.Select(s => s.GpuUuid));
        Assert.Equal([600.0, 500.0], result.Samples.Select(s => s.PowerWatts!.Value));
    }

    [Fact]
    public void Map_T4Capture_GivesHandCheckedReadings()
    {
        GpuMappingResult result = MapCapture(Captures.T4);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Equal(ScrapeTime, gpu.Time);
        Assert.Equal("prod-eu", gpu.Cluster);
        Assert.Equal("inference", gpu.Pool);
        Assert.Equal("cp-bm14r7", gpu.Node);
        Assert.Equal(0, gpu.GpuIndex);
        Assert.Equal("GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a", gpu.GpuUuid);
        Assert.Equal("Tesla T4", gpu.GpuModel);
        Assert.Equal(91, gpu.UtilizationPercent);
        Assert.Equal(0.156205, gpu.GraphicsEngineActivityRatio);
        Assert.Equal(68.244, gpu.PowerWatts);
        Assert.Equal(15152422.938, gpu.EnergyJoules);
        Assert.Equal(5120 * MiB, gpu.MemoryUsedBytes);
        Assert.Equal((5120 + 9791 + 447) * MiB, gpu.MemoryTotalBytes);
        Assert.Equal(16_104_030_208, gpu.MemoryTotalBytes);
        Assert.Equal(74, gpu.TemperatureCelsius);
        Assert.Null(gpu.XidErrors);
        Assert.Null(gpu.Pod);
        Assert.Null(gpu.Namespace);
        Assert.Null(gpu.MigInstance);
        Assert.Null(gpu.ServedModel);
        Assert.Equal(8, result.SamplesMapped);
        Assert.Equal(0, result.BlankValues);
    }

    [Fact]
    public void Map_L4Capture_RepeatedPageGivesOneGpu()
    {
        GpuMappingResult result = MapCapture(Captures.L4);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Equal("i-030791dc5a37cd257", gpu.Node);
        Assert.Equal("NVIDIA L4", gpu.GpuModel);
        Assert.Equal("GPU-c2f76b33-7953-256e-8f33-1343419b1a1c", gpu.GpuUuid);
        Assert.Equal(0, gpu.UtilizationPercent);
        Assert.Equal(0, gpu.GraphicsEngineActivityRatio);
        Assert.Equal(16.365, gpu.PowerWatts);
        Assert.Equal(4742.776, gpu.EnergyJoules);
        Assert.Equal(0, gpu.MemoryUsedBytes);
        Assert.Equal(24_151_851_008, gpu.MemoryTotalBytes);
        Assert.Equal(31, gpu.TemperatureCelsius);
        // The file holds the page twice; the parser refuses the second copy's 23 duplicate series, leaving 8 mapped.
        Assert.Equal(8, result.SamplesMapped);
    }

    [Fact]
    public void Map_L40SCapture_GivesHandCheckedReadings()
    {
        GpuMappingResult result = MapCapture(Captures.L40S);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Equal("gpu1-wl8sg", gpu.Node);
        Assert.Equal("NVIDIA L40S", gpu.GpuModel);
        Assert.Equal("GPU-5b4e07f6-3a86-4340-039d-25f2a83cdc43", gpu.GpuUuid);
        Assert.Equal(0, gpu.UtilizationPercent);
        Assert.Equal(35.686, gpu.PowerWatts);
        Assert.Equal(5551899.58, gpu.EnergyJoules);
        Assert.Equal(0, gpu.MemoryUsedBytes);
        Assert.Equal((45459 + 608) * MiB, gpu.MemoryTotalBytes);
        Assert.Equal(48_304_750_592, gpu.MemoryTotalBytes);
        Assert.Equal(32, gpu.TemperatureCelsius);
    }

    [Fact]
    public void Map_T4Capture_WritesOneLineProtocolPoint()
    {
        GpuSample gpu = Assert.Single(MapCapture(Captures.T4).Samples);
        using var writer = new LineProtocolWriter();

        Assert.True(gpu.WriteTo(writer));

        string line = writer.ToString();
        Assert.StartsWith("gpu_sample,cluster=prod-eu,gpu=0,gpu_model=T4,node=cp-bm14r7,pool=inference,uuid=GPU-6d5c0ac5", line, StringComparison.Ordinal);
        Assert.Contains("gpu_name=\"Tesla T4\"", line, StringComparison.Ordinal);
        Assert.Contains("utilization_percent=91", line, StringComparison.Ordinal);
        Assert.Contains("power_watts=68.244", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_OneXNamesAndOldLabelSpellings_AreRead()
    {
        const string page = """
            dcgm_gpu_utilization{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 55
            dcgm_fi_prof_gr_engine_active{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 0.5
            dcgm_power_usage{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 120.5
            dcgm_total_energy_consumption{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 5000
            dcgm_fb_used{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 1024
            dcgm_fb_free{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 3072
            dcgm_gpu_temp{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 60
            dcgm_xid_errors{gpu="0",uuid="GPU-old",pod_name="trainer-0",pod_namespace="ml",container_name="main"} 79
            dcgm_sm_clock{gpu="0",uuid="GPU-old"} 1400
            """;

        GpuSample gpu = Assert.Single(MapPage(page).Samples);

        Assert.Equal("fallback-node", gpu.Node);
        Assert.Equal("GPU-old", gpu.GpuUuid);
        Assert.Equal("trainer-0", gpu.Pod);
        Assert.Equal("ml", gpu.Namespace);
        Assert.Equal("main", gpu.Container);
        Assert.Equal(55, gpu.UtilizationPercent);
        Assert.Equal(0.5, gpu.GraphicsEngineActivityRatio);
        Assert.Equal(120.5, gpu.PowerWatts);
        Assert.Equal(5, gpu.EnergyJoules);
        Assert.Equal(1024 * MiB, gpu.MemoryUsedBytes);
        Assert.Equal(4096 * MiB, gpu.MemoryTotalBytes);
        Assert.Equal(60, gpu.TemperatureCelsius);
        Assert.Equal(79, gpu.XidErrors);
        Assert.Null(gpu.GpuModel);
    }

    [Fact]
    public void Map_NewSpellingsWithTwoGpus_PlacesEachAndLeavesEmptyPodUnallocated()
    {
        const string page = """
            # TYPE DCGM_FI_DEV_GPU_UTIL gauge
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",device="nvidia1",modelName="NVIDIA H100",hostname="node-7",container="",namespace="",pod=""} 0
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",device="nvidia0",modelName="NVIDIA H100",hostname="node-7",container="vllm",namespace="serving",pod="llama-7b-0"} 87
            # TYPE DCGM_FI_DEV_POWER_USAGE gauge
            DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b",device="nvidia1",modelName="NVIDIA H100",hostname="node-7",container="",namespace="",pod=""} 71.5
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",device="nvidia0",modelName="NVIDIA H100",hostname="node-7",container="vllm",namespace="serving",pod="llama-7b-0"} 512.25
            """;

        GpuMappingResult result = MapPage(page);

        Assert.Equal([0, 1], result.Samples.Select(s => s.GpuIndex));
        GpuSample busy = result.Samples[0];
        Assert.Equal("node-7", busy.Node);
        Assert.Equal("llama-7b-0", busy.Pod);
        Assert.Equal("serving", busy.Namespace);
        Assert.Equal("vllm", busy.Container);
        Assert.Equal(87, busy.UtilizationPercent);
        Assert.Equal(512.25, busy.PowerWatts);
        GpuSample idle = result.Samples[1];
        Assert.Null(idle.Pod);
        Assert.Null(idle.Namespace);
        Assert.Null(idle.Container);
        Assert.Equal(71.5, idle.PowerWatts);
        Assert.Null(idle.MemoryTotalBytes);
    }

    [Fact]
    public void Map_MigInstances_GiveOneSamplePerInstance()
    {
        const string page = """
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="2",Hostname="dgx-1",pod="b",namespace="t2"} 0.25
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="dgx-1",pod="a",namespace="t1"} 0.75
            DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="dgx-1",pod="a",namespace="t1"} 2000
            DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="dgx-1",pod="a",namespace="t1"} 38000
            DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-whole",device="nvidia1",modelName="NVIDIA A100-SXM4-80GB",Hostname="dgx-1"} 90
            """;

        GpuMappingResult result = MapPage(page);

        Assert.Equal(3, result.Samples.Count);
        Assert.Equal(["1", "2", null], result.Samples.Select(s => s.MigInstance));
        Assert.Equal(["3g.40gb", "3g.40gb", null], result.Samples.Select(s => s.MigProfile));
        Assert.Equal(["a", "b", null], result.Samples.Select(s => s.Pod));
        Assert.Equal(0.75, result.Samples[0].GraphicsEngineActivityRatio);
        Assert.Equal(40000 * MiB, result.Samples[0].MemoryTotalBytes);
        Assert.Equal(0.25, result.Samples[1].GraphicsEngineActivityRatio);
        Assert.Equal(90, result.Samples[2].PowerWatts);
    }

    [Fact]
    public void Map_ServedModelLabel_ReadsPageThenTargetLabels()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="p0",namespace="ns",model="qwen"} 10
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",pod="p1",namespace="ns"} 20
            """;
        GpuScrapeContext context = Context with
        {
            ServedModelLabel = "model",
            ExtraLabels = new Dictionary<string, string> { ["model"] = "llama", ["Hostname"] = "from-target" },
        };

        GpuMappingResult result = MapPage(page, context);

        Assert.Equal(["qwen", "llama"], result.Samples.Select(s => s.ServedModel));
        Assert.All(result.Samples, s => Assert.Equal("from-target", s.Node));
    }

    [Fact]
    public void Map_ServedModelResolver_MapsPodToModel()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="mistral-0",namespace="serving"} 10
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",pod=""} 0
            """;
        GpuScrapeContext context = Context with { ServedModelResolver = (ns, pod) => ns == "serving" && pod.StartsWith("mistral", StringComparison.Ordinal) ? "mistral-7b" : null };

        GpuMappingResult result = MapPage(page, context);

        Assert.Equal(["mistral-7b", null], result.Samples.Select(s => s.ServedModel));
    }

    [Fact]
    public void Map_PreferContextNode_OverridesHostnameLabel()
    {
        GpuMappingResult result = MapCapture(Captures.T4, Context with { PreferContextNode = true });

        Assert.Equal("fallback-node", Assert.Single(result.Samples).Node);
    }

    [Fact]
    public void Map_BlankSentinelsAndNaN_AreLeftNull_SentinelsCountedAsBlank_NaNRefused()
    {
        const string page = """
            DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 9223372036854775794
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} NaN
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-a"} 140737488355328
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 2147483632
            DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-a"} 9223372036854775792
            DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-a"} 0
            """;

        GpuMappingResult result = MapPage(page);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.TemperatureCelsius);
        Assert.Null(gpu.PowerWatts);
        Assert.Null(gpu.GraphicsEngineActivityRatio);
        Assert.Null(gpu.UtilizationPercent);
        Assert.Null(gpu.EnergyJoules);
        Assert.Equal(0, gpu.XidErrors);
        Assert.Equal(4, result.BlankValues);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.NonFiniteValue]);
        Assert.Equal(1, result.Rejections.Total);
    }

    [Fact]
    public void Map_MissingGpuLabel_FallsBackToDeviceOrIsCounted()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{UUID="GPU-d",device="nvidia3"} 40
            DCGM_FI_DEV_GPU_UTIL{UUID="GPU-x"} 50
            DCGM_FI_DEV_GPU_UTIL{gpu="abc",UUID="GPU-y"} 60
            """;

        GpuMappingResult result = MapPage(page);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Equal(3, gpu.GpuIndex);
        Assert.Equal(40, gpu.UtilizationPercent);
        Assert.Equal(2, result.SamplesWithoutGpuIndex);
    }

    [Fact]
    public void Map_SharedGpuWithTwoPods_GpuSampleHasNoPod_EachPodIsAWorkload()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="first",namespace="a"} 30
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="second",namespace="b"} 30
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",pod="second",namespace="b"} 100
            """;

        GpuMappingResult result = MapPage(page);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.Pod);
        Assert.Null(gpu.Namespace);
        Assert.Equal(30, gpu.UtilizationPercent);
        Assert.Equal(100, gpu.PowerWatts);
        Assert.Equal(1, result.PodConflicts);
        Assert.Equal(["first", "second"], result.Workloads.Select(w => w.Pod));
        Assert.Equal(["a", "b"], result.Workloads.Select(w => w.Namespace));
    }

    [Fact]
    public void Map_FederatedPage_PrefersExportedPodOverExporterPod()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="nvidia-dcgm-exporter-x7k2p",namespace="gpu-operator",exported_pod="llama-0",exported_namespace="serving",instance="10.0.0.5:9400",job="dcgm"} 66
            """;

        GpuSample gpu = Assert.Single(MapPage(page).Samples);

        Assert.Equal("llama-0", gpu.Pod);
        Assert.Equal("serving", gpu.Namespace);
    }

    [Fact]
    public void Map_FramebufferTotalExported_IsUsedDirectly()
    {
        const string page = """
            DCGM_FI_DEV_FB_TOTAL{gpu="0",UUID="GPU-a"} 81559
            DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-a"} 100
            DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-a"} 80000
            """;

        GpuSample gpu = Assert.Single(MapPage(page).Samples);

        Assert.Equal(81559 * MiB, gpu.MemoryTotalBytes);
        Assert.Equal(100 * MiB, gpu.MemoryUsedBytes);
    }

    [Fact]
    public void Map_PageWithoutGpuMetrics_GivesNoSamples()
    {
        GpuMappingResult result = new DcgmMapper().Map(Captures.Parse(Captures.Vllm(Captures.VllmV0After4)).Samples, Context);

        Assert.Empty(result.Samples);
        Assert.Equal(0, result.SamplesMapped);
    }
}
