using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// dcgm-exporter pages of a MIG GPU (the real A100 output of NVIDIA's cloud-native docs, Fixtures/dcgm-mig) and of a
/// time-sliced GPU (the per-pod repetition reported in NVIDIA/dcgm-exporter#587 and #340).
/// </summary>
public sealed class DcgmMigAndSharingTests
{
    private const long MiB = 1024 * 1024;

    private static readonly GpuScrapeContext Context = new()
    {
        ScrapeTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero),
        Node = "fallback-node",
        Cluster = "prod-eu",
    };

    private static GpuMappingResult MapPage(string page, GpuScrapeContext? context = null) =>
        new DcgmMapper().Map(PrometheusTextParser.ParseOnce(System.Text.Encoding.UTF8.GetBytes(page)).Samples, context ?? Context);

    [Fact]
    public void Map_RealA100MigPage_OneWholeGpuSampleAndOneInstanceSample()
    {
        GpuMappingResult result = new DcgmMapper().Map(Captures.Parse(Captures.Fixture("dcgm-mig", "a100-mig-1g.5gb-cloud-native-docs.prom")).Samples, Context);

        Assert.Equal(2, result.Samples.Count);
        Assert.Empty(result.Workloads);

        // The whole GPU: the lines without GPU_I_ID.
        GpuSample whole = result.Samples[0];
        Assert.Null(whole.MigInstance);
        Assert.Null(whole.MigProfile);
        Assert.Equal(0, whole.GpuIndex);
        Assert.Equal("GPU-34319582-d595-d1c7-d1d2-179bcfa61660", whole.GpuUuid);
        Assert.Equal("ub20-a100-k8s", whole.Node);
        Assert.Equal(409.692, whole.PowerWatts);                    // DCGM_FI_DEV_POWER_USAGE 409.692000
        Assert.Equal(319159.391, whole.EnergyJoules);              // TOTAL_ENERGY_CONSUMPTION 319159391 mJ / 1000
        Assert.Equal(0.995630, whole.GraphicsEngineActivityRatio); // the GPU-level GR_ENGINE_ACTIVE
        Assert.Equal(4845 * MiB, whole.MemoryUsedBytes);           // FB_USED 4845 MiB = 5080350720 B
        Assert.Equal((4845 + 35690) * MiB, whole.MemoryTotalBytes); // used + free = 40535 MiB = 42504028160 B
        Assert.Equal(61, whole.TemperatureCelsius);
        Assert.Null(whole.Pod);

        // GPU instance 13: its own activity, the physical GPU's UUID, no power or energy of its own.
        GpuSample instance = result.Samples[1];
        Assert.Equal("13", instance.MigInstance);
        Assert.Equal("1g.5gb", instance.MigProfile);
        Assert.Equal("GPU-34319582-d595-d1c7-d1d2-179bcfa61660", instance.GpuUuid);
        Assert.Equal(0.995687, instance.GraphicsEngineActivityRatio);
        Assert.Equal(0, instance.XidErrors);
        Assert.Null(instance.PowerWatts);
        Assert.Null(instance.EnergyJoules);
        Assert.Null(instance.MemoryTotalBytes);
    }

    /// <summary>
    /// Some dcgm-exporter releases repeat device fields (power, energy) on every MIG instance's series, with the
    /// physical GPU's value: they go to the whole GPU's sample (made here, the page has none), never to an instance,
    /// so the GPU's power is not counted once per instance.
    /// </summary>
    [Fact]
    public void Map_PowerRepeatedOnInstances_GoesToTheWholeGpuOnce_InstancesKeepTheirPods()
    {
        const string page = """
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-h",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="n1",pod="a",namespace="t1",container="c1"} 350
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-h",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="1g.10gb",GPU_I_ID="9",Hostname="n1",pod="b",namespace="t2",container="c2"} 350
            DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-h",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="n1",pod="a",namespace="t1",container="c1"} 5000000
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-h",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="n1",pod="a",namespace="t1",container="c1"} 0.6
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-h",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="1g.10gb",GPU_I_ID="9",Hostname="n1",pod="b",namespace="t2",container="c2"} 0.1
            """;

        GpuMappingResult result = MapPage(page);

        Assert.Equal([null, "1", "9"], result.Samples.Select(s => s.MigInstance));
        GpuSample whole = result.Samples[0];
        Assert.Equal(350, whole.PowerWatts);
        Assert.Equal(5000, whole.EnergyJoules); // 5000000 mJ
        Assert.Equal("NVIDIA H100 80GB HBM3", whole.GpuModel);
        Assert.Equal("n1", whole.Node);
        Assert.Null(whole.Pod);
        Assert.Null(whole.GraphicsEngineActivityRatio);
        Assert.Equal([null, null], result.Samples.Skip(1).Select(s => s.PowerWatts));
        Assert.Equal([null, null], result.Samples.Skip(1).Select(s => s.EnergyJoules));
        Assert.Equal([0.6, 0.1], result.Samples.Skip(1).Select(s => s.GraphicsEngineActivityRatio));
        Assert.Equal(["a", "b"], result.Samples.Skip(1).Select(s => s.Pod));
        Assert.Equal(["t1", "t2"], result.Samples.Skip(1).Select(s => s.Namespace));
        Assert.Equal(["3g.40gb", "1g.10gb"], result.Samples.Skip(1).Select(s => s.MigProfile));
        Assert.Empty(result.Workloads);
    }

    /// <summary>
    /// dcgm-exporter with <c>--kubernetes-virtual-gpus</c> on a time-sliced T4: the GPU's series once per pod (label
    /// <c>vgpu</c>), identical values (NVIDIA/dcgm-exporter#587). One GPU sample with the readings and no pod; one
    /// workload per pod, without utilization (0.714 is the GPU's, not a pod's).
    /// </summary>
    [Fact]
    public void Map_TimeSlicedGpuWithThreePods_OneGpuSample_ThreeWorkloadsWithoutUtilization()
    {
        const string page = """
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="default",pod="gpu-workload-1",vgpu="0"} 0.714
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="default",pod="gpu-workload-2",vgpu="1"} 0.714
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="other",pod="gpu-workload-3",vgpu="2"} 0.714
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="default",pod="gpu-workload-1",vgpu="0"} 41.5
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="default",pod="gpu-workload-2",vgpu="1"} 41.5
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="n1",container="main",namespace="other",pod="gpu-workload-3",vgpu="2"} 41.5
            """;
        GpuScrapeContext context = Context with { ServedModelResolver = (ns, pod) => pod == "gpu-workload-2" ? "llama-3-8b" : null };

        GpuMappingResult result = MapPage(page, context);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.Pod);
        Assert.Null(gpu.Namespace);
        Assert.Null(gpu.Container);
        Assert.Null(gpu.ServedModel);
        Assert.Equal(0.714, gpu.GraphicsEngineActivityRatio);
        Assert.Equal(41.5, gpu.PowerWatts);
        Assert.Equal(1, result.PodConflicts);

        Assert.Equal(3, result.Workloads.Count);
        Assert.Equal(["gpu-workload-1", "gpu-workload-2", "gpu-workload-3"], result.Workloads.Select(w => w.Pod));
        Assert.Equal(["default", "default", "other"], result.Workloads.Select(w => w.Namespace));
        Assert.Equal([null, "llama-3-8b", null], result.Workloads.Select(w => w.ServedModel));
        Assert.All(result.Workloads, w =>
        {
            Assert.Equal("GPU-ts", w.GpuUuid);
            Assert.Equal(0, w.GpuIndex);
            Assert.Equal("n1", w.Node);
            Assert.Equal("prod-eu", w.Cluster);
            Assert.Equal("main", w.Container);
            Assert.Equal("dcgm", w.Source);
            Assert.Equal(context.ScrapeTime, w.Time);
            Assert.Null(w.MigInstance);
            Assert.Null(w.UtilizationPercent);
            Assert.Null(w.RequestedFraction);
            Assert.Equal(3, w.WorkloadsOnGpu); // the only field: it keeps the point in the store
        });
        Assert.Equal(0, result.WorkloadsOverLimit);
    }

    [Fact]
    public void Map_MorePodsThanTheLimit_KeepsTheFirstAndCountsTheRest()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-ts",pod="p1",namespace="n"} 50
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-ts",pod="p2",namespace="n"} 50
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-ts",pod="p3",namespace="n"} 50
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-ts",pod="p3",namespace="n"} 60
            """;

        GpuMappingResult result = MapPage(page, Context with { MaxWorkloadsPerGpu = 2 });

        Assert.Equal(["p1", "p2"], result.Workloads.Select(w => w.Pod));
        Assert.Equal(2, result.WorkloadsOverLimit); // p3 seen twice, both beyond the limit
        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.Pod);
        Assert.Equal(60, gpu.PowerWatts);
    }

    [Fact]
    public void Map_OnePodOnAGpu_StaysOnTheGpuSample_NoWorkloads()
    {
        const string page = """
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-x",pod="only",namespace="n",container="c"} 50
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-x",pod="only",namespace="n",container="c"} 60
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-y",pod="",namespace="",container=""} 0
            """;

        GpuMappingResult result = MapPage(page);

        Assert.Equal(["only", null], result.Samples.Select(s => s.Pod));
        Assert.Empty(result.Workloads);
        Assert.Equal(0, result.PodConflicts);
    }

    [Fact]
    public void ScrapeOptions_WorkloadLimitOutOfRange_FailsNamingTheKey()
    {
        var options = new ScrapeOptions { MaxWorkloadsPerGpu = 0 };

        Microsoft.Extensions.Options.ValidateOptionsResult result = new ScrapeOptionsValidator().Validate(null, options);

        Assert.Equal(["Collector:Scrape:MaxWorkloadsPerGpu must be between 1 and 4096."], result.Failures);
        Assert.Equal(64, new ScrapeOptions().MaxWorkloadsPerGpu);
    }
}
