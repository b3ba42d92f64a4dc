using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>
/// The in-process collector scraping a loopback server that serves the MIG fixture (dcgm-exporter), a time-sliced
/// dcgm-exporter page with three pods and the HAMi fixture; the MIG <c>gpu_sample</c> rows and the
/// <c>gpu_workload</c> rows are read back from the embedded store and from a real influxd.
/// </summary>
public sealed class SharedGpuScrapeEndToEndTests : IAsyncLifetime
{
    private const string TimeSliced = """
        DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="t4-node",container="main",namespace="default",pod="gpu-workload-1",vgpu="0"} 0.714
        DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="t4-node",container="main",namespace="default",pod="gpu-workload-2",vgpu="1"} 0.714
        DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="t4-node",container="main",namespace="default",pod="gpu-workload-3",vgpu="2"} 0.714
        DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-ts",device="nvidia0",modelName="Tesla T4",Hostname="t4-node",container="main",namespace="default",pod="gpu-workload-1",vgpu="0"} 41.5
        """;

    private LoopbackExporter? _exporter;

    public async Task InitializeAsync() => _exporter = await LoopbackExporter.StartAsync(new Dictionary<string, string>
    {
        ["/mig"] = await File.ReadAllTextAsync(Captures.Fixture("dcgm-mig", "a100-mig-1g.5gb-cloud-native-docs.prom")),
        ["/shared"] = TimeSliced,
        ["/hami"] = await File.ReadAllTextAsync(Captures.Fixture("hami", "vgpumonitor-two-gpus-three-containers.prom")),
    });

    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.DisposeAsync();
        }
    }

    private string[] Targets() =>
    [
        .. _exporter!.Target(0, "mig", "/mig", "Dcgm"),
        .. _exporter.Target(1, "shared", "/shared", "Dcgm"),
        .. _exporter.Target(2, "hami", "/hami", "Hami", "Node", "hami-node", "Tenant", "acme"),
    ];

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    [Fact]
    public async Task EmbeddedStore_MigInstancesAndWorkloads_ReadBack() => await CheckAsync(await CollectorHost.StartAsync(Targets()));

    [Fact]
    public async Task RealInfluxd_MigInstancesAndWorkloads_ReadBack()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        await CheckAsync(await CollectorHost.StartAsync([.. Targets(), "--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", influx.Url.ToString()]));
    }

    private static async Task CheckAsync(CollectorHost started)
    {
        await using CollectorHost host = started;
        TimeSeriesQuery any = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts, "n").Between(Now.AddMinutes(-5), Now.AddMinutes(5)).Build();
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                // influxd answers "database not found" until the forwarder's first write creates it.
                await host.Store.QueryAsync(any);
                break;
            }
            catch (ObservaCost.Storage.StoreRequestException) when (attempt < 300)
            {
                await Task.Delay(100);
            }
        }

        // MIG: the whole A100 (no mig_instance) with its power, and GPU instance 13 (1g.5gb) with its own activity.
        TimeSeriesQuery mig = TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Last(Fields.PowerWatts, "watts").Last(Fields.GraphicsEngineActivityRatio, "active")
            .Between(Now.AddMinutes(-5), Now.AddMinutes(5))
            .WhereTag(Tags.GpuUuid, "GPU-34319582-d595-d1c7-d1d2-179bcfa61660")
            .GroupBy(Tags.MigInstance, Tags.MigProfile).Build();
        QueryResult gpus = await host.WaitForAsync(mig, r => r.Series.Count == 2);
        Assert.Equal(2, gpus.Series.Count);
        ResultSeries whole = gpus.Series.Single(s => s.Tags[Tags.MigInstance].Length == 0);
        Assert.Equal(409.692, whole.Rows[0][0].Number);
        Assert.Equal(0.99563, whole.Rows[0][1].Number);
        ResultSeries instance = gpus.Series.Single(s => s.Tags[Tags.MigInstance] == "13");
        Assert.Equal("1g.5gb", instance.Tags[Tags.MigProfile]);
        Assert.Null(instance.Rows[0][0].AsDouble());
        Assert.Equal(0.995687, instance.Rows[0][1].Number);

        // Workloads: three pods of the time-sliced T4 (dcgm, no utilization) and three HAMi containers (with theirs).
        TimeSeriesQuery workloads = TimeSeriesQueryBuilder.From(Measurements.GpuWorkload)
            .Last(Fields.UtilizationPercent, "util").Last(Fields.MemoryLimitBytes, "limit").Last(Fields.WorkloadsOnGpu, "sharing")
            .Between(Now.AddMinutes(-5), Now.AddMinutes(5))
            .GroupBy(Tags.Source, Tags.Pod, Tags.GpuUuid, Tags.Tenant).Build();
        QueryResult w = await host.WaitForAsync(workloads, r => r.Series.Count == 6);
        Assert.Equal(6, w.Series.Count);
        ResultSeries[] dcgm = [.. w.Series.Where(s => s.Tags[Tags.Source] == "dcgm").OrderBy(s => s.Tags[Tags.Pod], StringComparer.Ordinal)];
        Assert.Equal(["gpu-workload-1", "gpu-workload-2", "gpu-workload-3"], dcgm.Select(s => s.Tags[Tags.Pod]));
        Assert.All(dcgm, s =>
        {
            Assert.Equal("GPU-ts", s.Tags[Tags.GpuUuid]);
            Assert.Null(s.Rows[0][0].AsDouble()); // no utilization of its own
            Assert.Equal(3, s.Rows[0][2].Number);  // workloads_on_gpu
        });
        ResultSeries vllm = w.Series.Single(s => s.Tags[Tags.Source] == "hami" && s.Tags[Tags.Pod] == "chat-7b-6d9f8c-abcde");
        Assert.Equal(62, vllm.Rows[0][0].Number);
        Assert.Equal(21474836480, vllm.Rows[0][1].Number); // 20 GiB
        Assert.Equal("acme", vllm.Tags[Tags.Tenant]);
        Assert.Equal(3, w.Series.Count(s => s.Tags[Tags.Source] == "hami"));

        // The time-sliced GPU's own sample carries no pod.
        TimeSeriesQuery shared = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Last(Fields.PowerWatts, "watts")
            .Between(Now.AddMinutes(-5), Now.AddMinutes(5)).WhereTag(Tags.GpuUuid, "GPU-ts").GroupBy(Tags.Pod).Build();
        ResultSeries t4 = Assert.Single((await host.Store.QueryAsync(shared)).Series);
        Assert.Equal(string.Empty, t4.Tags[Tags.Pod]);
        Assert.Equal(41.5, t4.Rows[0][0].Number);
    }
}
