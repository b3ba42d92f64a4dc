using ObservaCost.Collector.Scraping;
using ObservaCost.Simulator.Output;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Simulator.Tests.Output;

public sealed class SimulatorEncodingTests
{
    /// <summary>
    /// The page of the zombie's node, one hour into the zombie (anchor − 19 h), parsed by the collector's own
    /// Prometheus parser and dcgm mapper with the scrape configuration <c>SimulatorDriver.ScrapeTargetConfiguration</c>
    /// gives (served model from the <c>model</c> label, <c>source=simulated</c> as an extra label): four GPUs, each
    /// with the reading it was given, the energy counter read from mJ as J.
    /// </summary>
    [Fact]
    public void DcgmPage_ParsedByTheCollectorsDcgmMapper_GivesEveryGpuItsReadings()
    {
        FleetSimulator simulator = FleetSimulatorTests.Demo();
        DateTimeOffset time = FleetSimulatorTests.Anchor.AddHours(-19);
        GpuReading[] node = [.. simulator.Step(time).Where(r => r.Gpu.Node == "sim-chat-h100-01")];
        string page = SimulatorEncoding.DcgmPage(node);

        PrometheusParseResult parsed = PrometheusTextParser.ParseOnce(System.Text.Encoding.UTF8.GetBytes(page));
        GpuMappingResult mapped = new DcgmMapper().Map(parsed.Samples, new GpuScrapeContext
        {
            ScrapeTime = time,
            Node = "sim-chat-h100-01",
            Pool = "chat-h100",
            ServedModelLabel = "model",
            ExtraLabels = new Dictionary<string, string> { ["source"] = FleetSimulator.SourceTag },
        });

        Assert.Equal(4 * 8, mapped.SamplesMapped); // 8 metrics per GPU, every one mapped
        Assert.Equal(0, mapped.BlankValues);
        Assert.Equal(4, mapped.Samples.Count);
        foreach (GpuReading r in node)
        {
            GpuSample s = mapped.Samples.Single(x => x.GpuUuid == r.Gpu.Uuid);
            Assert.Equal(("sim-chat-h100-01", r.Gpu.Index, "NVIDIA H100 80GB HBM3"), (s.Node, s.GpuIndex, s.GpuModel));
            Assert.Equal(r.UtilizationPercent, s.UtilizationPercent);
            Assert.Equal(r.PowerWatts, s.PowerWatts!.Value, 6);
            Assert.Equal(r.EnergyMillijoules / 1000.0, s.EnergyJoules);
            Assert.Equal(r.XidCode, s.XidErrors);
            Assert.Equal(r.MemoryUsedMebibytes * 1024L * 1024L, s.MemoryUsedBytes);
            Assert.Equal(r.Gpu.Model.MemoryTotalMebibytes * 1024L * 1024L, s.MemoryTotalBytes);
            Assert.Equal(r.Pod, s.Pod);
            Assert.Equal(r.ServedModel, s.ServedModel);
            Assert.Equal("simulated", s.Source);
        }

        // GPU 3 is the zombie: allocated to a pod of llama-3.1-70b-ft (no request names it) at high power.
        Assert.Equal("llama-3.1-70b-ft", mapped.Samples.Single(s => s.GpuIndex == 3).ServedModel);
    }

    [Fact]
    public void WriteGpuSamples_EveryLine_CarriesSourceSimulated()
    {
        FleetSimulator simulator = FleetSimulatorTests.Demo();
        using var writer = new LineProtocolWriter();
        SimulatorEncoding.WriteGpuSamples(writer, simulator.Step(FleetSimulatorTests.Anchor), simulator.Options.Cluster);

        string[] lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16, lines.Length);
        Assert.All(lines, l => Assert.Contains(",source=simulated,", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.StartsWith("gpu_sample,cluster=simulated,", l, StringComparison.Ordinal));
    }

    [Fact]
    public void WriteGpuSamples_Temperature_OnlyWhenAsked()
    {
        // The history stays lean by default; the option adds temperature_celsius to every line (16 GPUs, one step).
        FleetSimulator simulator = FleetSimulatorTests.Demo();
        IReadOnlyList<GpuReading> readings = [.. simulator.Step(FleetSimulatorTests.Anchor)];
        using var lean = new LineProtocolWriter();
        SimulatorEncoding.WriteGpuSamples(lean, readings, simulator.Options.Cluster);
        using var warm = new LineProtocolWriter();
        SimulatorEncoding.WriteGpuSamples(warm, readings, simulator.Options.Cluster, temperature: true);

        Assert.DoesNotContain("temperature_celsius=", lean.ToString(), StringComparison.Ordinal);
        string[] lines = warm.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16, lines.Length);
        Assert.All(lines, l => Assert.Contains(" temperature_celsius=", l.Replace(",temperature_celsius=", " temperature_celsius=", StringComparison.Ordinal), StringComparison.Ordinal));
    }
}
