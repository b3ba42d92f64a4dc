using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Reading;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// Whole-node power (docs/analytics.md, "Whole-node power"), computed, stored (the embedded store and a real influxd
/// 1.x) and read back, every figure by hand.
/// </summary>
/// <remarks>
/// <para><b>The hour</b>: 2026-11-21 10:00–11:00 UTC; GPU samples every 10 s and node samples every 30 s from 09:50 to
/// 11:10, all constant. Every GPU is an owned H100 (capex (43,800 − 8,760) / (4 × 8,760) = 1.00 $/GPU-h, opex 0.25)
/// serving llama for namespace acme at 60 % (never idle). PUE 1.5, flat 0.20 $/kWh.</para>
/// <list type="bullet">
/// <item>node-m: GPU-M1 at 400 W and GPU-M2 at 300 W; the node reads 1,400 W (scope <c>node</c>, ipmi_dcmi).
/// Non-GPU power 1,400 − (400 + 300) = 700 W, 350 W each GPU → 350 × 3,600 = 1,260,000 J node energy each.</item>
/// <item>node-f: GPU-F1 at 500 W, no node samples. With <c>nodePowerWatts</c> 200 (one GPU): 200 × 3,600 =
/// 720,000 J, source <c>fixed</c>; without: 0 J, source <c>none</c>.</item>
/// </list>
/// </remarks>
public sealed class WholeNodePowerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private static string Pricing(bool fixedNodePower) => """
        {
          "energy": { "pue": 1.5, "tariff": { "usdPerKilowattHour": 0.20, "timeZone": "UTC" }NODE },
          "gpus": {
            "H100": { "owned": { "purchaseUsd": 43800, "salvageUsd": 8760, "depreciationYears": 4, "opexUsdPerGpuHour": 0.25 } }
          }
        }
        """.Replace("NODE", fixedNodePower ? ", \"nodePowerWatts\": 200" : string.Empty, StringComparison.Ordinal);

    private static CostWindowService Service(ITimeSeriesStore store, bool fixedNodePower) =>
        new(store, PricingFileReader.Parse(Pricing(fixedNodePower)), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);

    private static WindowSelection Hour(params string[] groupBy) => new() { From = T0, To = T0.AddHours(1), GroupBy = groupBy };

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task MeasuredAndFixedNodes_HandComputed_NodeEnergyDollarsAndSourcePerRow(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        await WriteGpusAsync(store);
        await WriteNodeAsync(store, "node-m", 1400, NodePowerScopes.WholeNode);

        WindowCostReport report = await Service(store, fixedNodePower: true).ComputeAndWriteAsync(T0);

        // GPU-M1: GPU 400 × 3,600 = 1,440,000 J; node 1,260,000 J; facility (1,440,000 + 1,260,000) × 1.5 =
        // 4,050,000 J = 1.125 kWh → $0.225; cost 1.00 + 0.25 + 0.225 = $1.475.
        CostWindow m1 = report.Costs.Single(c => c.GpuUuid == "GPU-M1");
        AssertRow(m1, gpuJoules: 1_440_000, nodeJoules: 1_260_000, facilityJoules: 4_050_000, energyUsd: 0.225, costUsd: 1.475, NodePowerSources.Measured);

        // GPU-M2: 300 × 3,600 = 1,080,000 J; node 1,260,000 J; facility 2,340,000 × 1.5 = 3,510,000 J = 0.975 kWh →
        // $0.195; cost 1.25 + 0.195 = $1.445.
        CostWindow m2 = report.Costs.Single(c => c.GpuUuid == "GPU-M2");
        AssertRow(m2, gpuJoules: 1_080_000, nodeJoules: 1_260_000, facilityJoules: 3_510_000, energyUsd: 0.195, costUsd: 1.445, NodePowerSources.Measured);

        // GPU-F1 (no node samples, nodePowerWatts 200 for its one GPU): 500 × 3,600 = 1,800,000 J; node 720,000 J;
        // facility 2,520,000 × 1.5 = 3,780,000 J = 1.05 kWh → $0.21; cost 1.25 + 0.21 = $1.46.
        CostWindow f1 = report.Costs.Single(c => c.GpuUuid == "GPU-F1");
        AssertRow(f1, gpuJoules: 1_800_000, nodeJoules: 720_000, facilityJoules: 3_780_000, energyUsd: 0.21, costUsd: 1.46, NodePowerSources.Fixed);
        Assert.Equal(0, report.NodePowerClampedReadings);

        // Stored and read back per node: node-m 2 × 1,260,000 = 2,520,000 J measured, $1.475 + $1.445 = $2.92;
        // node-f 720,000 J fixed; the whole fleet in one bucket: mixed, 3,240,000 J, $4.38.
        IReadOnlyList<CostWindow> perNode = await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Node));
        CostWindow nodeM = perNode.Single(c => c.Node == "node-m");
        Precision.Close(2_520_000, nodeM.NodeEnergyJoules);
        Precision.Close(2.92, nodeM.CostUsd);
        Assert.Equal(NodePowerSources.Measured, nodeM.NodePowerSource);
        CostWindow nodeF = perNode.Single(c => c.Node == "node-f");
        Precision.Close(720_000, nodeF.NodeEnergyJoules);
        Assert.Equal(NodePowerSources.Fixed, nodeF.NodePowerSource);
        CostWindow fleet = (await StoredWindowReader.ReadCostAsync(store, Hour())).Single();
        Precision.Close(3_240_000, fleet.NodeEnergyJoules);
        Precision.Close(4.38, fleet.CostUsd);
        Assert.Equal(NodePowerSources.Mixed, fleet.NodePowerSource);
    }

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task NodeWithoutSamples_NoFixedWatts_NoNodeEnergyAndSaysNone(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        await WriteGpusAsync(store);
        await WriteNodeAsync(store, "node-m", 1400, NodePowerScopes.WholeNode);

        WindowCostReport report = await Service(store, fixedNodePower: false).ComputeAndWriteAsync(T0);

        // GPU-F1: 1,800,000 J × 1.5 = 2,700,000 J = 0.75 kWh → $0.15; cost $1.40; no node energy.
        AssertRow(report.Costs.Single(c => c.GpuUuid == "GPU-F1"), gpuJoules: 1_800_000, nodeJoules: 0, facilityJoules: 2_700_000, energyUsd: 0.15, costUsd: 1.40, NodePowerSources.None);

        // node-m is measured whether or not the pricing file has fixed watts: the same $1.475 as above.
        AssertRow(report.Costs.Single(c => c.GpuUuid == "GPU-M1"), gpuJoules: 1_440_000, nodeJoules: 1_260_000, facilityJoules: 4_050_000, energyUsd: 0.225, costUsd: 1.475, NodePowerSources.Measured);
        Assert.Equal(NodePowerSources.None, (await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Node))).Single(c => c.Node == "node-f").NodePowerSource);
    }

    /// <summary>A BMC that reports the non-GPU power itself (scope <c>non_gpu</c>, 700 W): the same 350 W a GPU as 1,400 W of the whole node.</summary>
    [Fact]
    public async Task NonGpuScope_ReadingIsTheNonGpuPower_SameSharesAsWholeNode()
    {
        await using TestStore test = await TestStore.OpenAsync(StoreBackend.Embedded);
        await WriteGpusAsync(test.Store);
        await WriteNodeAsync(test.Store, "node-m", 700, NodePowerScopes.NonGpu);

        WindowCostReport report = await Service(test.Store, fixedNodePower: true).ComputeAsync(T0);

        AssertRow(report.Costs.Single(c => c.GpuUuid == "GPU-M1"), gpuJoules: 1_440_000, nodeJoules: 1_260_000, facilityJoules: 4_050_000, energyUsd: 0.225, costUsd: 1.475, NodePowerSources.Measured);
        AssertRow(report.Costs.Single(c => c.GpuUuid == "GPU-M2"), gpuJoules: 1_080_000, nodeJoules: 1_260_000, facilityJoules: 3_510_000, energyUsd: 0.195, costUsd: 1.445, NodePowerSources.Measured);
    }

    /// <summary>
    /// Three readings (10:10:00, 10:10:30, 10:11:00) of 600 W, below the GPUs' 700 W: their non-GPU power is clamped to
    /// 0 and counted, never negative. Each GPU's share goes 350 (10:09:30) → 0, 0, 0 → 350 (10:11:30): against a constant
    /// 350 W it loses the trapezoids' 175 × 30 + 350 × 60 + 175 × 30 = 5,250 + 21,000 + 5,250 = 31,500 J, so
    /// 1,260,000 − 31,500 = 1,228,500 J each.
    /// </summary>
    [Fact]
    public async Task NodeBelowItsGpus_ClampedToZero_CountedAndNamed()
    {
        await using TestStore test = await TestStore.OpenAsync(StoreBackend.Embedded);
        await WriteGpusAsync(test.Store);
        DateTimeOffset[] low = [T0.AddMinutes(10), T0.AddMinutes(10.5), T0.AddMinutes(11)];
        await WriteNodeAsync(test.Store, "node-m", 1400, NodePowerScopes.WholeNode, t => low.Contains(t) ? 600 : 1400);

        WindowCostReport report = await Service(test.Store, fixedNodePower: true).ComputeAsync(T0);

        Assert.Equal(3, report.NodePowerClampedReadings);
        Assert.Equal(["node-m"], report.NodePowerClampedNodes);
        Precision.Close(1_228_500, report.Costs.Single(c => c.GpuUuid == "GPU-M1").NodeEnergyJoules);
        Precision.Close(1_228_500, report.Costs.Single(c => c.GpuUuid == "GPU-M2").NodeEnergyJoules);
        Assert.All(report.Costs, c => Assert.True(c.NodeEnergyJoules >= 0));
    }

    /// <summary>
    /// First computed without node samples (node-m on the fixed 200 W: 100 W a GPU, 2 × 360,000 = 720,000 J, fixed); the
    /// BMC's readings arrive late and the window is computed again: the stored figures become the measured 2,520,000 J,
    /// measured, with no fixed row left beside them.
    /// </summary>
    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task Recompute_AfterNodeSamplesArrive_ReplacesTheStoredNodeEnergyAndSource(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        await WriteGpusAsync(store);
        await Service(store, fixedNodePower: true).ComputeAndWriteAsync(T0);
        CostWindow before = (await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Node))).Single(c => c.Node == "node-m");
        Precision.Close(720_000, before.NodeEnergyJoules);
        Assert.Equal(NodePowerSources.Fixed, before.NodePowerSource);

        await WriteNodeAsync(store, "node-m", 1400, NodePowerScopes.WholeNode);
        await Service(store, fixedNodePower: true).ComputeAndWriteAsync(T0);

        CostWindow after = (await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Node))).Single(c => c.Node == "node-m");
        Precision.Close(2_520_000, after.NodeEnergyJoules);
        Precision.Close(2.92, after.CostUsd);
        Assert.Equal(NodePowerSources.Measured, after.NodePowerSource);
        IReadOnlyList<CostWindow> rows = await StoredWindowReader.ReadCostAsync(store, Hour(Tags.GpuUuid, Tags.NodePowerSource));
        Assert.Equal(3, rows.Count);
    }

    private static void AssertRow(CostWindow row, double gpuJoules, double nodeJoules, double facilityJoules, double energyUsd, double costUsd, string source)
    {
        Precision.Close(gpuJoules, row.GpuEnergyJoules);
        Precision.Close(nodeJoules, row.NodeEnergyJoules);
        Precision.Close(facilityJoules, row.FacilityEnergyJoules);
        Precision.Close(energyUsd, row.EnergyCostUsd);
        Precision.Close(costUsd, row.CostUsd);
        Assert.Equal(source, row.NodePowerSource);
    }

    /// <summary>Three H100s serving llama for acme at 60 %, samples every 10 s from 09:50 to 11:10 at a constant power.</summary>
    private static async Task WriteGpusAsync(ITimeSeriesStore store)
    {
        using var writer = new LineProtocolWriter();
        (string Uuid, string Node, double Watts)[] gpus = [("GPU-M1", "node-m", 400), ("GPU-M2", "node-m", 300), ("GPU-F1", "node-f", 500)];
        for (int g = 0; g < gpus.Length; g++)
        {
            for (DateTimeOffset t = T0.AddMinutes(-10); t <= T0.AddMinutes(70); t = t.AddSeconds(10))
            {
                new GpuSample
                {
                    Time = t, Node = gpus[g].Node, GpuIndex = g, GpuUuid = gpus[g].Uuid, GpuModel = "H100", Pool = "chat",
                    Pod = "llama-" + g.ToString(System.Globalization.CultureInfo.InvariantCulture), Namespace = "acme", ServedModel = "llama",
                    PowerWatts = gpus[g].Watts, UtilizationPercent = 60,
                }.WriteTo(writer);
            }
        }

        Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }

    /// <summary>A node's readings every 30 s from 09:50 to 11:10.</summary>
    private static async Task WriteNodeAsync(ITimeSeriesStore store, string node, double watts, string scope, Func<DateTimeOffset, double>? at = null)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-10); t <= T0.AddMinutes(70); t = t.AddSeconds(30))
        {
            new NodeSample { Time = t, Node = node, Source = "ipmi_dcmi", Scope = scope, PowerWatts = at?.Invoke(t) ?? watts }.WriteTo(writer);
        }

        Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }
}
