using System.Text;
using ObservaCost.Collector.Scraping;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Scraping;

/// <summary>Node-power pages (SOURCE.md beside them) to <see cref="NodeSample"/>s, and what is refused.</summary>
public sealed class NodePowerMapperTests
{
    private static readonly DateTimeOffset ScrapeTime = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly NodePowerScrapeContext Context = new() { ScrapeTime = ScrapeTime, Node = "gpu-node-1", Cluster = "prod-eu", Pool = "inference" };

    public static string PagePath(string file) => Path.Combine(RepoPaths.Root, "tests", "ObservaCost.Collector.Tests", "Scraping", "NodePowerPages", file);

    private static NodePowerMappingResult MapFile(ScrapeTarget target, string file) =>
        NodePowerMapper.For(target)!.Map(Captures.Parse(PagePath(file)).Samples, Context);

    private static NodePowerMappingResult MapPage(ScrapeTarget target, string page) =>
        NodePowerMapper.For(target)!.Map(PrometheusTextParser.ParseOnce(Encoding.UTF8.GetBytes(page)).Samples, Context);

    [Fact]
    public void Map_IpmiExporterDcmiPage_OneWholeNodeSampleOfTheDcmiReading()
    {
        NodePowerMappingResult result = MapFile(new ScrapeTarget { Kind = ScrapeKind.IpmiDcmi }, "ipmi_exporter_dcmi.prom");

        // ipmi_dcmi_power_consumption_watts 1400; the sensor ipmi_power_watts{name="Pwr Consumption"} 70 is not read.
        NodeSample node = Assert.Single(result.Samples);
        Assert.Equal(
            new NodeSample { Time = ScrapeTime, Cluster = "prod-eu", Node = "gpu-node-1", Pool = "inference", Source = "ipmi_dcmi", Scope = NodePowerScopes.WholeNode, PowerWatts = 1400 },
            node);
        Assert.Equal(0, result.Rejections.Total);
    }

    [Fact]
    public void Map_RedfishExporterChassisPage_ThePowerControlReading_NotTheSupplies()
    {
        NodePowerMappingResult result = MapFile(new ScrapeTarget { Kind = ScrapeKind.Redfish }, "redfish_exporter_chassis.prom");

        // redfish_chassis_power_average_consumed_watts{chassis_id="1",power_voltage="Server Power Control"} 1350.
        NodeSample node = Assert.Single(result.Samples);
        Assert.Equal(("gpu-node-1", "redfish", NodePowerScopes.WholeNode, 1350.0), (node.Node, node.Source, node.Scope, node.PowerWatts!.Value));
        Assert.Equal(0, result.Rejections.Total);
    }

    [Fact]
    public void Map_GenericMetricWithSelectorAndNodeLabel_SumsTheSelectedSeriesPerNode()
    {
        // PSU inputs of two nodes behind a federation (node label "instance"): node-a 690 + 660 = 1,350 W, node-b 700 W;
        // the output series are not selected.
        const string page = """
            psu_watts{instance="node-a",psu="1",direction="input"} 690
            psu_watts{instance="node-a",psu="2",direction="input"} 660
            psu_watts{instance="node-a",psu="1",direction="output"} 650
            psu_watts{instance="node-b",psu="1",direction="input"} 700
            """;
        var target = new ScrapeTarget
        {
            Kind = ScrapeKind.NodePower, NodePowerMetric = "psu_watts", NodeLabel = "instance",
            NodePowerLabels = new() { ["direction"] = "input" }, NodePowerScope = NodePowerScopes.NonGpu,
        };

        NodePowerMappingResult result = MapPage(target, page);

        Assert.Equal([("node-a", 1350.0), ("node-b", 700.0)], result.Samples.Select(s => (s.Node, s.PowerWatts!.Value)));
        Assert.All(result.Samples, s => Assert.Equal((NodePowerScopes.NonGpu, "node_metric"), (s.Scope, s.Source)));
    }

    [Fact]
    public void Map_PageWithoutDcmiReading_NoSample_CountedMissing()
    {
        // ipmi_exporter leaves the metric out when the BMC gives no DCMI reading (ipmi_up{collector="dcmi"} 0).
        const string page = """
            ipmi_up{collector="dcmi"} 0
            ipmi_power_watts{id="90",name="Pwr Consumption"} 70
            """;

        NodePowerMappingResult result = MapPage(new ScrapeTarget { Kind = ScrapeKind.IpmiDcmi }, page);

        Assert.Empty(result.Samples);
        Assert.Equal(1, result.Rejections[PrometheusErrorKind.MissingValue]);
        Assert.Contains("ipmi_dcmi_power_consumption_watts", result.Rejections.Reasons[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_NaNOrNegativeReading_NodeGetsNoSample_EachCounted()
    {
        // Two PowerControl entries on one node, one NaN: a partial sum would understate it, so the node gets no sample.
        const string page = """
            redfish_chassis_power_average_consumed_watts{chassis_id="1",power_voltage_id="0",resource="power_wattage"} 700
            redfish_chassis_power_average_consumed_watts{chassis_id="1",power_voltage_id="1",resource="power_wattage"} NaN
            """;
        NodePowerMappingResult nan = MapPage(new ScrapeTarget { Kind = ScrapeKind.Redfish }, page);
        Assert.Empty(nan.Samples);
        Assert.Equal(1, nan.Rejections[PrometheusErrorKind.NonFiniteValue]);

        NodePowerMappingResult negative = MapPage(new ScrapeTarget { Kind = ScrapeKind.IpmiDcmi }, "ipmi_dcmi_power_consumption_watts -1\n");
        Assert.Empty(negative.Samples);
        Assert.Equal(1, negative.Rejections[PrometheusErrorKind.NegativeValue]);
    }

    [Fact]
    public void Map_BothDcmiNames_TheCollectorsNameWins()
    {
        NodePowerMappingResult result = MapPage(
            new ScrapeTarget { Kind = ScrapeKind.IpmiDcmi },
            "ipmi_dcmi_power_consumption_current_watts 900\nipmi_dcmi_power_consumption_watts 1000\n");

        Assert.Equal(1000, Assert.Single(result.Samples).PowerWatts);
    }

    [Fact]
    public void Validate_NodePowerTargets_NameEachBadKey()
    {
        var options = new ScrapeOptions
        {
            Targets =
            [
                new ScrapeTarget { Name = "bmc", Url = new Uri("http://10.0.0.5:9290/ipmi"), Kind = ScrapeKind.IpmiDcmi },
                new ScrapeTarget { Name = "psu", Url = new Uri("http://10.0.0.6:9100/metrics"), Kind = ScrapeKind.NodePower, Node = "n1", NodePowerScope = "gpu" },
                new ScrapeTarget { Name = "ok", Url = new Uri("http://10.0.0.7:9610/redfish"), Kind = ScrapeKind.Redfish, Node = "n2" },
            ],
        };

        Microsoft.Extensions.Options.ValidateOptionsResult result = new ScrapeOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(
            [
                "Collector:Scrape:Targets:0:Node (or Collector:Scrape:Targets:0:NodeLabel) is required for a IpmiDcmi target: the node whose power it reads.",
                "Collector:Scrape:Targets:1:NodePowerMetric is required for a NodePower target.",
                "Collector:Scrape:Targets:1:NodePowerScope must be 'node' or 'non_gpu'.",
            ],
            result.Failures);
    }
}
