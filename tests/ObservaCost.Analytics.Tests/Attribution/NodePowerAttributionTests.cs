using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Energy;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Attribution;

/// <summary>How one node reading becomes each GPU's non-GPU power share (docs/analytics.md, "Whole-node power").</summary>
public sealed class NodePowerAttributionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MaxGap = TimeSpan.FromMinutes(2);

    /// <summary>Power samples 10 s before and after the reading at T0 (so the GPU is observed at T0).</summary>
    private static GpuWindowInput Gpu(string uuid, double watts, string? boundTenant = null) => new()
    {
        GpuUuid = uuid, Node = "node-m", BoundTenant = boundTenant,
        PowerWatts = [new TimedValue(T0.AddSeconds(-10), watts), new TimedValue(T0.AddSeconds(10), watts)],
    };

    private static Dictionary<string, IReadOnlyList<NodePowerReading>> Reading(double watts, bool nonGpuOnly = false) =>
        new() { ["node-m"] = [new NodePowerReading(T0, watts, nonGpuOnly)] };

    private static double ShareOf(NodePowerResult result, string uuid, string? boundTenant = null) =>
        result.Gpus.Single(g => g.GpuUuid == uuid && g.BoundTenant == boundTenant).NodeNonGpuPowerWatts.Single().Value;

    [Fact]
    public void Apply_TwoGpusObserved_NodeLessGpusSharedEqually()
    {
        // 1,400 − (400 + 300) = 700 W, 350 W each.
        NodePowerResult result = NodePowerAttribution.Apply([Gpu("GPU-1", 400), Gpu("GPU-2", 300)], Reading(1400), 200, T0, T0.AddHours(1), MaxGap);

        Assert.Equal(350, ShareOf(result, "GPU-1"));
        Assert.Equal(350, ShareOf(result, "GPU-2"));
        Assert.All(result.Gpus, g => Assert.Equal((NodePowerSources.Measured, 0.0), (g.NodePowerSource, g.NodePowerWatts)));
    }

    [Fact]
    public void Apply_GpuNotObservedAtTheReading_ItGetsZero_TheObservedOneTheRest()
    {
        // GPU-2 has no sample around T0: not observed, 0 W of it known; GPU-1 gets 1,400 − 400 = 1,000 W.
        GpuWindowInput silent = Gpu("GPU-2", 300) with { PowerWatts = [new TimedValue(T0.AddMinutes(30), 300)] };

        NodePowerResult result = NodePowerAttribution.Apply([Gpu("GPU-1", 400), silent], Reading(1400), null, T0, T0.AddHours(1), MaxGap);

        Assert.Equal(1000, ShareOf(result, "GPU-1"));
        Assert.Equal(0, ShareOf(result, "GPU-2"));
    }

    [Fact]
    public void Apply_GpuBoundToATenant_SharesAmongItsOwn_GpuPowerCountedOncePerPhysicalGpu()
    {
        // GPU-2 is read for the fleet and for tenant acme: one GPU drawing 300 W. Non-GPU 1,400 − (400 + 300) = 700 W:
        // the fleet's two GPUs 350 W each; the tenant's one GPU 700 W (as the fixed watts are shared per group).
        NodePowerResult result = NodePowerAttribution.Apply(
            [Gpu("GPU-1", 400), Gpu("GPU-2", 300), Gpu("GPU-2", 300, boundTenant: "acme")], Reading(1400), null, T0, T0.AddHours(1), MaxGap);

        Assert.Equal(350, ShareOf(result, "GPU-1"));
        Assert.Equal(350, ShareOf(result, "GPU-2"));
        Assert.Equal(700, ShareOf(result, "GPU-2", "acme"));
        Assert.Equal(0, result.ClampedReadings);
    }

    [Fact]
    public void PowerAt_CounterOnly_MeanPowerBetweenTheReadingsAround()
    {
        // 4,000 J in the 10 s around T0: 400 W; no reading after T0 + 10 s: not observed at T0 + 20 s.
        GpuWindowInput gpu = new()
        {
            GpuUuid = "GPU-C", Node = "node-m",
            EnergyCounterJoules = [new TimedValue(T0.AddSeconds(-5), 1_000_000), new TimedValue(T0.AddSeconds(5), 1_004_000)],
        };

        Assert.Equal(400, NodePowerAttribution.PowerAt(gpu, T0, MaxGap));
        Assert.Null(NodePowerAttribution.PowerAt(gpu, T0.AddSeconds(20), MaxGap));
    }

    [Fact]
    public void Apply_ReadingsFarFromTheWindow_FixedWattsApply_ElseNone()
    {
        // The only reading is 10 minutes after the window's end, beyond the 2-minute gap limit: the node is not measured.
        var late = new Dictionary<string, IReadOnlyList<NodePowerReading>> { ["node-m"] = [new NodePowerReading(T0.AddMinutes(70), 1400, false)] };

        NodePowerResult withFixed = NodePowerAttribution.Apply([Gpu("GPU-1", 400), Gpu("GPU-2", 300)], late, 200, T0, T0.AddHours(1), MaxGap);
        NodePowerResult without = NodePowerAttribution.Apply([Gpu("GPU-1", 400)], late, null, T0, T0.AddHours(1), MaxGap);

        Assert.All(withFixed.Gpus, g => Assert.Equal((NodePowerSources.Fixed, 100.0), (g.NodePowerSource, g.NodePowerWatts)));
        Assert.Equal((NodePowerSources.None, 0.0), (without.Gpus.Single().NodePowerSource, without.Gpus.Single().NodePowerWatts));
    }
}
