using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>HAMi's vGPU monitor page (Fixtures/hami, built from HAMi's metric definitions) → gpu_workload per container.</summary>
public sealed class HamiMapperTests
{
    private const long GiB = 1024L * 1024 * 1024;

    private static readonly GpuScrapeContext Context = new()
    {
        ScrapeTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero),
        Node = "gpu-node-4",
        Cluster = "prod-eu",
    };

    private static GpuMappingResult MapPage(string page, GpuScrapeContext? context = null) =>
        new HamiMapper().Map(PrometheusTextParser.ParseOnce(System.Text.Encoding.UTF8.GetBytes(page)).Samples, context ?? Context);

    [Fact]
    public void Map_VgpuMonitorPage_OneWorkloadPerContainer_WithItsMemoryAndUtilization()
    {
        GpuMappingResult result = new HamiMapper().Map(Captures.Parse(Captures.Fixture("hami", "vgpumonitor-two-gpus-three-containers.prom")).Samples, Context);

        Assert.Empty(result.Samples);
        Assert.Equal(3, result.Workloads.Count);

        // Ordered by GPU UUID, then namespace: GPU-0c5f… (search/embedder, serving/vllm), then GPU-5e2a… (research/trainer).
        GpuWorkloadSample embedder = result.Workloads[0];
        Assert.Equal(("search", "embed-5c7d9-fghij", "embedder"), (embedder.Namespace, embedder.Pod, embedder.Container));
        Assert.Equal("GPU-0c5f3c2a-7d41-4b8e-9a1f-2e6d8b7c9a01", embedder.GpuUuid);
        Assert.Equal(0, embedder.GpuIndex);                  // HostCoreUtilization{deviceidx="0",deviceuuid="GPU-0c5f…"}
        Assert.Equal(18, embedder.UtilizationPercent);       // Device_utilization_desc_of_container … 18
        Assert.Equal(2 * GiB, embedder.MemoryUsedBytes);     // 2.147483648e+09
        Assert.Equal(10 * GiB, embedder.MemoryLimitBytes);   // 1.073741824e+10
        Assert.Null(embedder.RequestedFraction);             // the monitor's page does not give the GPU's memory
        Assert.Equal(2, embedder.WorkloadsOnGpu);            // embedder and vllm share GPU 0

        GpuWorkloadSample vllm = result.Workloads[1];
        Assert.Equal(("serving", "chat-7b-6d9f8c-abcde", "vllm"), (vllm.Namespace, vllm.Pod, vllm.Container));
        Assert.Equal(0, vllm.GpuIndex);
        Assert.Equal(62, vllm.UtilizationPercent);
        Assert.Equal(12 * GiB, vllm.MemoryUsedBytes);        // 1.2884901888e+10
        Assert.Equal(20 * GiB, vllm.MemoryLimitBytes);       // 2.147483648e+10

        GpuWorkloadSample trainer = result.Workloads[2];
        Assert.Equal(("research", "finetune-0", "trainer"), (trainer.Namespace, trainer.Pod, trainer.Container));
        Assert.Equal("GPU-5e2a9b10-3c4d-4e5f-8a6b-7c8d9e0f1a23", trainer.GpuUuid);
        Assert.Equal(1, trainer.GpuIndex);
        Assert.Equal(97, trainer.UtilizationPercent);
        Assert.Equal(32 * GiB, trainer.MemoryUsedBytes);     // 3.4359738368e+10
        Assert.Equal(40 * GiB, trainer.MemoryLimitBytes);    // 4.294967296e+10
        Assert.Equal(1, trainer.WorkloadsOnGpu);

        Assert.All(result.Workloads, w =>
        {
            Assert.Equal("hami", w.Source);
            Assert.Equal("gpu-node-4", w.Node);
            Assert.Equal("prod-eu", w.Cluster);
            Assert.Null(w.MigInstance);
        });
        Assert.Equal(0, result.Rejections.Total);
    }

    /// <summary>HAMi 2.10 names; the scheduler's GPU memory on the same page gives the requested fraction.</summary>
    [Fact]
    public void Map_Hami210NamesWithGpuMemory_RequestedFractionIsLimitOverGpuMemory_BadRowsCounted()
    {
        const string page = """
            hami_host_gpu_utilization_ratio{device_index="3",device_type="NVIDIA-NVIDIA H100 80GB HBM3",device_uuid="GPU-h",zone="vGPU"} 40
            hami_gpu_memory_limit_bytes{device_index="3",device_type="NVIDIA",device_uuid="GPU-h",node="n1",zone="vGPU"} 85899345920
            hami_vgpu_memory_limit_bytes{container="c",device_uuid="GPU-h",namespace="a",pod="p",vdevice_index="0",zone="vGPU"} 21474836480
            hami_vgpu_memory_used_bytes{container="c",device_uuid="GPU-h",namespace="a",pod="p",vdevice_index="0",zone="vGPU"} 1073741824
            hami_container_device_utilization_ratio{container="c",device_uuid="GPU-h",namespace="a",pod="p",vdevice_index="0",zone="vGPU"} 35
            hami_container_device_utilization_ratio{container="c",device_uuid="GPU-h",namespace="a",pod="q",vdevice_index="0",zone="vGPU"} 150
            hami_vgpu_memory_limit_bytes{container="c",device_uuid="GPU-unknown",namespace="a",pod="orphan",vdevice_index="0",zone="vGPU"} 1
            """;

        GpuMappingResult result = MapPage(page);

        GpuWorkloadSample p = Assert.Single(result.Workloads);
        Assert.Equal("p", p.Pod);
        Assert.Equal(3, p.GpuIndex);
        Assert.Equal(35, p.UtilizationPercent);
        Assert.Equal(0.25, p.RequestedFraction); // 20 GiB of 80 GiB (85899345920 B)
        Assert.Equal(1 * GiB, p.MemoryUsedBytes);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.AboveMaximum]); // pod q: 150 %
        Assert.Equal(1, result.SamplesWithoutGpuIndex);                      // GPU-unknown has no device index on the page
    }

    [Fact]
    public void Map_MoreContainersThanTheLimit_KeepsTheFirstAndCountsTheRest()
    {
        const string page = """
            HostCoreUtilization{deviceidx="0",deviceuuid="GPU-a"} 10
            Device_utilization_desc_of_container{ctrname="c",deviceuuid="GPU-a",podname="p1",podnamespace="n",vdeviceid="0"} 1
            Device_utilization_desc_of_container{ctrname="c",deviceuuid="GPU-a",podname="p2",podnamespace="n",vdeviceid="0"} 2
            Device_utilization_desc_of_container{ctrname="c",deviceuuid="GPU-a",podname="p3",podnamespace="n",vdeviceid="0"} 3
            """;

        GpuMappingResult result = MapPage(page, Context with { MaxWorkloadsPerGpu = 2 });

        Assert.Equal(["p1", "p2"], result.Workloads.Select(w => w.Pod));
        Assert.Equal(1, result.WorkloadsOverLimit);
    }
}
