using System.Text;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>GPU exporter readings that cannot be stored are refused with a reason; the GPU's other readings are kept.</summary>
public sealed class GpuReadingRefusalTests
{
    private static readonly GpuScrapeContext Context = new() { ScrapeTime = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero), Node = "n1" };

    private static GpuMappingResult Map(IGpuExporterMapper mapper, string page)
    {
        PrometheusParseResult parsed = PrometheusTextParser.ParseOnce(Encoding.UTF8.GetBytes(page));
        Assert.Empty(parsed.Errors);
        return mapper.Map(parsed.Samples, Context);
    }

    [Fact]
    public void Map_DcgmNonFiniteNegativeAndAboveMaximum_AreRefusedAndCounted_GoodReadingsKept()
    {
        GpuMappingResult result = Map(new DcgmMapper(), """
            DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} NaN
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 55
            DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b"} -5
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} 150
            DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",UUID="GPU-b"} +Inf
            DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-b"} -4
            DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-c"} 300.25
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="2",UUID="GPU-c"} 1.5
            DCGM_FI_DEV_FB_USED{gpu="2",UUID="GPU-c"} -1
            DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-c"} 100
            """);

        Assert.Equal(["GPU-a", "GPU-b", "GPU-c"], result.Samples.Select(s => s.GpuUuid));
        GpuSample a = result.Samples[0], b = result.Samples[1], c = result.Samples[2];
        Assert.Equal((55.0, (double?)null), (a.UtilizationPercent, a.PowerWatts));
        Assert.Null(b.PowerWatts);
        Assert.Null(b.UtilizationPercent);
        Assert.Null(b.EnergyJoules);
        Assert.Equal(-4, b.TemperatureCelsius); // a temperature may be below zero
        Assert.Equal((300.25, 100.0), (c.PowerWatts, c.UtilizationPercent));
        Assert.Null(c.GraphicsEngineActivityRatio);
        Assert.Null(c.MemoryUsedBytes);
        // NaN and +Inf; -5 W and -1 MiB; 150 % and a ratio of 1.5.
        Assert.Equal(2, result.Rejections[PrometheusErrorKind.NonFiniteValue]);
        Assert.Equal(2, result.Rejections[PrometheusErrorKind.NegativeValue]);
        Assert.Equal(2, result.Rejections[PrometheusErrorKind.AboveMaximum]);
        Assert.Equal(6, result.Rejections.Total);
        Assert.Equal(0, result.BlankValues);
        Assert.Equal((PrometheusErrorKind.NonFiniteValue, "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-a\"} is NaN, not a reading"), result.Rejections.Reasons[0]);
        Assert.Equal("DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-b\"} is -5: PowerWatts cannot be below 0", result.Rejections.Reasons[1].Reason);
    }

    [Fact]
    public void Map_AmdNegativePowerAndActivityAbove100_AreRefused_SentinelStillBlank()
    {
        GpuMappingResult result = Map(new AmdGpuMapper(), """
            gpu_package_power{gpu_id="0",gpu_uuid="u0"} -5
            gpu_gfx_activity{gpu_id="0",gpu_uuid="u0"} 101
            gpu_edge_temperature{gpu_id="0",gpu_uuid="u0"} 65535
            gpu_used_vram{gpu_id="0",gpu_uuid="u0"} 1000
            """);

        GpuSample gpu = Assert.Single(result.Samples);
        Assert.Null(gpu.PowerWatts);
        Assert.Null(gpu.UtilizationPercent);
        Assert.Null(gpu.TemperatureCelsius);
        Assert.Equal(1000L * 1024 * 1024, gpu.MemoryUsedBytes);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.NegativeValue]);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.AboveMaximum]);
        Assert.Equal(2, result.Rejections.Total);
        Assert.Equal(1, result.BlankValues);
    }

    [Theory]
    [InlineData(Captures.T4)]
    [InlineData(Captures.L4)]
    [InlineData(Captures.L40S)]
    public void Map_RealDcgmCaptures_RefuseNothing(string file)
    {
        GpuMappingResult result = new DcgmMapper().Map(Captures.Parse(Captures.Dcgm(file)).Samples, Context);

        Assert.NotEmpty(result.Samples);
        Assert.Equal(0, result.Rejections.Total);
    }
}
