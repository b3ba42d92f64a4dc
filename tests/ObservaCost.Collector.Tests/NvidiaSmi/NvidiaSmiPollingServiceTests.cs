using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.NvidiaSmi;

/// <summary>The host polling "nvidia-smi" (a script printing the real H100 load capture) into the store.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NvidiaSmiPollingServiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-smi-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task EnabledPoller_WritesTheCapturedGpus_UnderTheConfiguredNodeAndPool()
    {
        Directory.CreateDirectory(_dir);
        string capture = RepoPaths.Data("nvidia-smi", "nvidia_gpu_exporter-captures", "query-gpu-csv", "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__load.csv");
        string script = Path.Combine(_dir, "nvidia-smi");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\ncat '{capture}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using CollectorHost host = await CollectorHost.StartAsync(
            "--Collector:NvidiaSmi:Enabled", "true",
            "--Collector:NvidiaSmi:Interval", "00:00:01",
            "--Collector:NvidiaSmi:CommandPath", script,
            "--Collector:NvidiaSmi:Node", "bare-metal-7",
            "--Collector:NvidiaSmi:Pool", "h100");
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Last(Fields.PowerWatts, "watts").Last(Fields.UtilizationPercent, "util")
            .Between(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddMinutes(5))
            .GroupBy(Tags.Node, Tags.Pool, Tags.GpuModel).Build();
        QueryResult r = await host.WaitForAsync(query, x => x.Series.Count == 1);
        ResultSeries gpu = Assert.Single(r.Series);
        Assert.Equal("bare-metal-7", gpu.Tags[Tags.Node]);
        Assert.Equal("h100", gpu.Tags[Tags.Pool]);
        Assert.Equal("H100", gpu.Tags[Tags.GpuModel]);
        Assert.True(gpu.Rows[0][0].Number > 300, "a loaded H100 draws hundreds of watts");
        Assert.Equal(100, gpu.Rows[0][1].Number);
    }
}
