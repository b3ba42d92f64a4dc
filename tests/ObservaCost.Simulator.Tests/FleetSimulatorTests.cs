using Microsoft.Extensions.Time.Testing;
using ObservaCost.Simulator.Configuration;
using ObservaCost.Simulator.Output;
using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Simulator.Tests;

public sealed class FleetSimulatorTests
{
    /// <summary>A Wednesday noon (UTC): the demo's faults fall on Tuesday and Wednesday.</summary>
    internal static readonly DateTimeOffset Anchor = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    internal static FleetSimulator Demo(long seed = DemoFleet.DefaultSeed) => new(DemoFleet.Create(seed), new FakeTimeProvider(Anchor));

    /// <summary>Two hours around the zombie's start (anchor − 20 h) of everything the simulator emits, as bytes.</summary>
    private static byte[] Emit(FleetSimulator simulator)
    {
        DateTimeOffset from = Anchor.AddHours(-21), to = Anchor.AddHours(-19);
        using var writer = new LineProtocolWriter();
        var bytes = new List<byte>();
        for (DateTimeOffset t = from; t < to; t = t.AddSeconds(60))
        {
            IReadOnlyList<GpuReading> readings = simulator.Step(t);
            SimulatorEncoding.WriteGpuSamples(writer, readings, simulator.Options.Cluster);
            foreach (string node in simulator.Nodes)
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(SimulatorEncoding.DcgmPage(readings.Where(r => r.Gpu.Node == node))));
            }
        }

        bytes.AddRange(writer.WrittenSpan.ToArray());
        bytes.AddRange(SimulatorEncoding.RequestLog(simulator.RequestsBetween(from, to)));
        return [.. bytes];
    }

    [Fact]
    public void FleetSimulator_SameSeedAndClock_EmitsIdenticalBytesAndAnotherSeedDiffers()
    {
        byte[] first = Emit(Demo());
        byte[] second = Emit(Demo());
        byte[] otherSeed = Emit(Demo(seed: 7));

        Assert.True(first.Length > 1_000_000, $"{first.Length} bytes"); // 120 steps × 16 GPUs of pages (~2 KB a GPU) and lines, plus ~50 requests a minute
        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void FleetSimulator_DemoFleet_Has16GpusOnFourNodesNamedAsSimulated()
    {
        FleetSimulator simulator = Demo();

        // chat-h100, chat-h200, small-l40s and small-l4: one node of 4 GPUs each = 16 GPUs on 4 nodes.
        Assert.Equal(16, simulator.Gpus.Count);
        Assert.Equal(["sim-chat-h100-01", "sim-chat-h200-01", "sim-small-l40s-01", "sim-small-l4-01"], simulator.Nodes);
        Assert.Equal(16, simulator.Gpus.Select(g => g.Uuid).Distinct().Count());
        Assert.Equal(3, simulator.Gpus.Count(g => g.ServedModel is null)); // GPU 3 of the H100, H200 and L40S nodes is spare
    }

    [Fact]
    public void FleetSimulator_EverySampleOfTwoDays_DrawsPowerWithinIdleAndTdp()
    {
        FleetSimulator simulator = Demo();
        int samples = 0;
        for (DateTimeOffset t = Anchor.AddDays(-2); t < Anchor; t = t.AddSeconds(60))
        {
            foreach (GpuReading r in simulator.Step(t))
            {
                Assert.InRange(r.PowerWatts, r.Gpu.Model.IdlePowerWatts, r.Gpu.Model.MaxPowerWatts);
                Assert.InRange(r.UtilizationPercent, 0, 100);
                samples++;
            }
        }

        Assert.Equal(2 * 1440 * 16, samples);
    }

    [Fact]
    public void FleetSimulator_EnergyCounters_OnlyGrowExceptOnceAtTheDriverRestart()
    {
        FleetSimulator simulator = Demo();
        DateTimeOffset restart = Anchor.AddHours(-14); // DemoFleet: the chat-h200 node's driver reloads at anchor − 14 h
        var previous = new long[simulator.Gpus.Count];
        var drops = new List<(string Node, DateTimeOffset Time, long After)>();
        for (DateTimeOffset t = Anchor.AddDays(-1); t < Anchor; t = t.AddSeconds(60))
        {
            foreach (GpuReading r in simulator.Step(t))
            {
                if (t > Anchor.AddDays(-1) && r.EnergyMillijoules < previous[r.Gpu.Ordinal])
                {
                    drops.Add((r.Gpu.Node, t, r.EnergyMillijoules));
                }
                else if (t > Anchor.AddDays(-1))
                {
                    // Between two samples a minute apart the counter adds power × 60 s: at least idle × 60 s in mJ.
                    Assert.True(r.EnergyMillijoules - previous[r.Gpu.Ordinal] >= (long)(r.Gpu.Model.IdlePowerWatts * 60 * 1000) - 1, r.Gpu.Uuid);
                }

                previous[r.Gpu.Ordinal] = r.EnergyMillijoules;
            }
        }

        // The four H200s drop once each, at the restart's minute, to the energy since the restart (0 s: 0 mJ).
        Assert.Equal(4, drops.Count);
        Assert.All(drops, d => Assert.Equal(("sim-chat-h200-01", restart, 0L), d));
    }

    [Fact]
    public void FleetSimulator_InjectedFaults_ShowInTheReadingsAndTheDemand()
    {
        FleetSimulator simulator = Demo();
        IReadOnlyList<GpuReading> zombieHour = simulator.Step(Anchor.AddHours(-19));
        GpuReading zombie = zombieHour.Single(r => r.Gpu.Node == "sim-chat-h100-01" && r.Gpu.Index == 3);
        GpuReading stuck = zombieHour.Single(r => r.Gpu.Node == "sim-small-l40s-01" && r.Gpu.Index == 3);
        GpuReading spare = zombieHour.Single(r => r.Gpu.Node == "sim-chat-h200-01" && r.Gpu.Index == 3);

        // Zombie: 96 ± 2 %, so power ≥ 69.85 + 0.9 × 630.15 × 0.94 − 1 % of 630.15 = 596.6 W, under a model no request names.
        Assert.Equal("llama-3.1-70b-ft", zombie.ServedModel);
        Assert.True(zombie.PowerWatts >= 596.6, zombie.PowerWatts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("mistral-7b-canary", stuck.ServedModel);
        Assert.Equal(0, stuck.UtilizationPercent);
        Assert.Null(spare.Pod);
        Assert.Equal(0, spare.UtilizationPercent);
        Assert.DoesNotContain(simulator.RequestsBetween(Anchor.AddHours(-20), Anchor.AddHours(-18)), r => r.Model is "llama-3.1-70b-ft" or "mistral-7b-canary");

        GpuReading xid = simulator.Step(Anchor.AddHours(-5)).Single(r => r.Gpu.Node == "sim-small-l4-01" && r.Gpu.Index == 0);
        Assert.Equal(79, xid.XidCode);
        Assert.Equal(0, xid.UtilizationPercent);

        // The spike triples llama's demand; the Xid leaves the coder model 20 % of its own (noise ±8 % on each side).
        double spike = simulator.Demand("llama-3.1-70b", Anchor.AddHours(-9)) / simulator.Demand("llama-3.1-70b", Anchor.AddHours(-9).AddMinutes(-1));
        Assert.InRange(spike, 3 * 0.92 / 1.08 * 0.99, 3 * 1.08 / 0.92 * 1.01); // 1 % for the diurnal curve's change in a minute
        double drop = simulator.Demand("qwen2.5-coder-7b", Anchor.AddHours(-5)) / simulator.Demand("qwen2.5-coder-7b", Anchor.AddHours(-5).AddMinutes(-1));
        Assert.InRange(drop, 0.2 * 0.92 / 1.08 * 0.99, 0.2 * 1.08 / 0.92 * 1.01);
    }

    [Fact]
    public void FleetOptionsValidator_BadOptions_NamesEveryKey()
    {
        FleetOptions options = DemoFleet.Default;
        options.Seed = -1;
        options.Pools[0].GpuModel = "A100";
        options.Pools[1].SpareGpusPerNode = 4;
        options.Faults[0].Model = "llama-3.1-70b"; // a served model: a zombie under it would have tokens
        options.HistorySampleStep = TimeSpan.FromSeconds(7);

        var result = new FleetOptionsValidator().Validate(null, options);

        Assert.Equal(
        [
            "Simulator:Seed must not be negative.",
            "Simulator:HistorySampleStep must be whole seconds that divide an hour.",
            "Simulator:Pools:0:GpuModel must be one of H100, H200, L40S, L4.",
            "Simulator:Pools:1:SpareGpusPerNode must be at least 0 and below GpusPerNode.",
            "Simulator:Faults:0:Model must name a model outside Simulator:Models (one that gets no traffic) for a zombie or a stuck GPU.",
        ], result.Failures);
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new FleetSimulator(options, new FakeTimeProvider(Anchor)));
    }
}
