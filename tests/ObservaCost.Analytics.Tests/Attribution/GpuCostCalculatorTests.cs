using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Attribution;

public sealed class GpuCostCalculatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T1 = T0.AddHours(1);
    private static readonly TimeSpan MaxGap = TimeSpan.FromMinutes(2);

    private static readonly PriceEntry Owned = new("H100", new OwnedHardware(30_000, 3_000, 4, 0.5), null);
    private static readonly EnergyPricing FlatEnergy = new(1.2, null, EnergyTariff.Flat(0.10));

    private static TimedValue[] Every10Seconds(Func<int, double> valueAtSecond) =>
        Enumerable.Range(0, 361).Select(i => new TimedValue(T0.AddSeconds(i * 10), valueAtSecond(i * 10))).ToArray();

    private static GpuWindowCost Compute(GpuWindowInput gpu, PriceEntry price, EnergyPricing energy) =>
        GpuCostCalculator.Compute(gpu, T0, T1, price, energy, energy.Tariff.ScheduleFor(T0, T1), IdleThresholds.Default, MaxGap);

    [Fact]
    public void HalfAllocatedHalfIdle_HandComputed()
    {
        var gpu = new GpuWindowInput
        {
            GpuUuid = "GPU-1",
            Node = "n1",
            Pool = "h100",
            Allocations = [new AllocationSpan(T0, T0.AddMinutes(30), "llama", "acme")],
            PowerWatts = Every10Seconds(_ => 500),
            UtilizationPercent = Every10Seconds(s => s < 1800 ? 80 : 1),
        };

        GpuWindowCost cost = Compute(gpu, Owned, FlatEnergy);

        // Capex 27,000 / (4 × 8760) = 0.7705479452 $/h; opex 0.5 $/h; each half hour: 0.3852739726 + 0.25.
        // Energy per half hour: 500 W × 1800 s = 900 kJ; × PUE 1.2 = 1.08 MJ = 0.3 kWh → $0.03.
        const double HalfHourUsd = (27_000.0 / 35_040 / 2) + 0.25 + 0.03;
        GpuCostLine llama = cost.Lines.Single(l => l.Model == "llama");
        Assert.Equal("acme", llama.Tenant);
        Precision.Close(0.5, llama.GpuHours);
        Precision.Close(900_000, llama.GpuEnergyJoules);
        Precision.Close(1_080_000, llama.FacilityEnergyJoules);
        Precision.Close(0.03, llama.EnergyCostUsd);
        Precision.Close(HalfHourUsd, llama.CostUsd);
        GpuCostLine nobody = cost.Lines.Single(l => l.Model is null);
        Precision.Close(HalfHourUsd, nobody.CostUsd);
        Precision.Close(2 * HalfHourUsd, cost.CostUsd);

        // Utilization 1 % from 10:30 on: the unallocated half hour is idle.
        Precision.Close(0.5, cost.IdleGpuHours);
        Precision.Close(HalfHourUsd, cost.IdleCostUsd);
        Precision.Close(1_080_000, cost.IdleEnergyJoules);
    }

    [Fact]
    public void RentalWithEnergyIncluded_ChargesTheHourlyPriceOnly()
    {
        var rented = new PriceEntry("A100-spot", null, new RentedHardware(1.8, RentalCommitment.Spot, EnergyIncluded: true));
        var gpu = new GpuWindowInput { GpuUuid = "g", Node = "n", PowerWatts = Every10Seconds(_ => 300), UtilizationPercent = Every10Seconds(_ => 50) };
        GpuWindowCost cost = Compute(gpu, rented, FlatEnergy);
        GpuCostLine line = Assert.Single(cost.Lines);
        Precision.Close(1.8, line.RentalUsd);
        Precision.Close(0, line.OpexUsd);
        Precision.Close(0, line.CapexUsd);
        Precision.Close(0, line.EnergyCostUsd);
        Precision.Close(1.8, line.CostUsd);
        Precision.Close(300.0 * 3600 * 1.2, line.FacilityEnergyJoules);
        Precision.Close(0, cost.IdleGpuHours);
    }

    [Fact]
    public void EnergyCounter_IsPreferredOverPower()
    {
        var gpu = new GpuWindowInput
        {
            GpuUuid = "g",
            Node = "n",
            PowerWatts = Every10Seconds(_ => 10_000), // nonsense power that must not be used
            EnergyCounterJoules = Every10Seconds(s => 5_000_000 + (400.0 * s)), // 400 W
            UtilizationPercent = Every10Seconds(_ => 50),
        };
        GpuCostLine line = Assert.Single(Compute(gpu, Owned, FlatEnergy).Lines);
        Precision.Close(400.0 * 3600, line.GpuEnergyJoules);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomGpus_LinesAddUpToTheWholeWindow_IdleIsPartOfIt(int seed)
    {
        var random = new Random(seed);
        (EnergyTariff tariff, EnergyPricing energy) = RandomEnergy(random);
        PriceEntry price = random.Next(2) == 0 ? Owned : new PriceEntry("r", null, new RentedHardware(2.5, RentalCommitment.OnDemand, random.Next(2) == 0));
        for (int g = 0; g < 40; g++)
        {
            List<AllocationSpan> allocations = RandomAllocations(random);
            TimedValue[] power = Every10Seconds(_ => 50 + (random.NextDouble() * 650)).Where(_ => random.Next(20) > 0).ToArray();
            TimedValue[] util = Every10Seconds(s => (s / 600) % 2 == 0 ? random.NextDouble() * 4 : 30 + (random.NextDouble() * 70));
            var gpu = new GpuWindowInput { GpuUuid = "g" + g, Node = "n", Allocations = allocations, PowerWatts = power, UtilizationPercent = util };
            TariffSchedule schedule = tariff.ScheduleFor(T0, T1);
            GpuWindowCost cost = GpuCostCalculator.Compute(gpu, T0, T1, price, energy, schedule, IdleThresholds.Default, MaxGap);

            // The whole GPU, priced in one piece, must equal the sum of its lines.
            EnergyCostResult whole = EnergyCost.OfPowerSamples(power, MaxGap, T0, T1, schedule, energy.Pue);
            double expected = price.HardwareUsdPerGpuHour + (price.EnergyBilledSeparately ? whole.CostUsd : 0);
            Precision.Close(expected, cost.CostUsd);
            Precision.Close(1.0, cost.GpuHours);

            // Each hardware component is its own figure: the hour's rate of each, whatever the allocations.
            Precision.Close(price.CapexUsdPerGpuHour, cost.Lines.Sum(l => l.CapexUsd));
            Precision.Close(price.OpexUsdPerGpuHour, cost.Lines.Sum(l => l.OpexUsd));
            Precision.Close(price.RentalUsdPerGpuHour, cost.Lines.Sum(l => l.RentalUsd));
            Assert.All(cost.Lines, l => Precision.Close(l.CapexUsd + l.OpexUsd + l.RentalUsd + l.EnergyCostUsd, l.CostUsd));
            Assert.InRange(cost.IdleCostUsd, 0, cost.CostUsd + 1e-9);
            Assert.InRange(cost.IdleGpuHours, 0, 1 + 1e-12);
            Assert.All(cost.Lines, l => Assert.True(l.GpuHours > 0 && l.CostUsd >= 0));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomMigAndSharedGpus_LinesAddUpToTheWholeWindow_IdleWithinIt(int seed)
    {
        var random = new Random(seed);
        (EnergyTariff tariff, EnergyPricing energy) = RandomEnergy(random);
        TariffSchedule schedule = tariff.ScheduleFor(T0, T1);
        int[] profiles = [1, 1, 2, 3, 4, 7];
        for (int g = 0; g < 40; g++)
        {
            PriceEntry price = random.Next(2) == 0 ? Owned : new PriceEntry("r", null, new RentedHardware(2.5, RentalCommitment.OnDemand, random.Next(2) == 0));
            bool mig = g % 2 == 0;
            var parts = new List<GpuPartition>();
            int held = 0;
            while (parts.Count == 0 || (mig && random.Next(3) > 0))
            {
                int slices = mig ? profiles[random.Next(profiles.Length)] : 1;
                if (mig && held + slices > 7)
                {
                    break;
                }

                held += slices;
                parts.Add(new GpuPartition
                {
                    MigInstance = mig ? parts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
                    MigProfile = mig ? slices + "g.10gb" : null,
                    Slices = slices,
                    Allocations = RandomAllocations(random),
                    ActivityPercent = random.Next(4) == 0 ? [] : Every10Seconds(s => (s / 600) % 2 == random.Next(2) ? random.NextDouble() * 4 : random.NextDouble() * 100),
                    Workloads = RandomWorkloads(random),
                });
            }

            TimedValue[] power = Every10Seconds(_ => 50 + (random.NextDouble() * 650)).Where(_ => random.Next(20) > 0).ToArray();
            TokenUsage[] tokens = [.. Enumerable.Range(0, 3).Select(m => new TokenUsage("m" + m, "t" + random.Next(2), random.Next(0, 5_000), random.Next(0, 500), 10))];
            var gpu = GpuSharing.Resolve(
                new GpuWindowInput
                {
                    GpuUuid = "g" + g, Node = "n", PowerWatts = power,
                    UtilizationPercent = Every10Seconds(s => (s / 600) % 2 == 0 ? random.NextDouble() * 4 : 30 + (random.NextDouble() * 70)),
                    NodePowerWatts = random.Next(2) * 150, Partitions = parts, TotalSlices = mig ? 7 : 1,
                },
                tokens,
                4);
            GpuWindowCost cost = GpuCostCalculator.Compute(gpu, T0, T1, price, energy, schedule, IdleThresholds.Default, MaxGap);

            // Every dollar of the GPU is on a line (attributed, unallocated or free slices): the hour's hardware, the
            // GPU's energy and the node's share, as for the GPU priced whole.
            EnergyCostResult whole = EnergyCost.OfPowerSamples(power, MaxGap, T0, T1, schedule, energy.Pue) + EnergyCost.OfConstantPower(gpu.NodePowerWatts, T0, T1, schedule, energy.Pue);
            double expected = price.HardwareUsdPerGpuHour + (price.EnergyBilledSeparately ? whole.CostUsd : 0);
            Precision.Close(expected, cost.CostUsd);
            Precision.Close(1.0, cost.GpuHours);
            Precision.Close(whole.FacilityEnergyJoules, cost.Lines.Sum(l => l.FacilityEnergyJoules));
            Precision.Close(price.CapexUsdPerGpuHour, cost.Lines.Sum(l => l.CapexUsd));
            Precision.Close(price.RentalUsdPerGpuHour, cost.Lines.Sum(l => l.RentalUsd));
            Assert.InRange(cost.IdleCostUsd, 0, cost.CostUsd + 1e-9);
            Assert.InRange(cost.IdleGpuHours, 0, 1 + 1e-12);
            Assert.All(cost.Lines, l => Assert.True(l.GpuHours > 0 && l.CostUsd >= 0 && (gpu.Partitions is null || l.AttributionBasis is not null)));
            if (mig)
            {
                // Free slices are idle all hour, and a line of the GPU's own with no instance.
                Assert.True(cost.IdleGpuHours >= ((7.0 - held) / 7) - 1e-12);
                Precision.Close((7.0 - held) / 7, cost.Lines.Where(l => l.MigInstance is null).Sum(l => l.GpuHours));
            }
        }
    }

    /// <summary>A flat rate with a peak period of 1–7 hours from 10:00, and a PUE of 1–2.</summary>
    private static (EnergyTariff Tariff, EnergyPricing Energy) RandomEnergy(Random random)
    {
        var tariff = new EnergyTariff(0.08, [new TariffPeriod("peak", 0.21, 10, 10 + random.Next(1, 8), Enum.GetValues<DayOfWeek>().ToHashSet())], TimeZoneInfo.Utc);
        return (tariff, new EnergyPricing(1 + random.NextDouble(), null, tariff));
    }

    private static List<AllocationSpan> RandomAllocations(Random random)
    {
        var allocations = new List<AllocationSpan>();
        DateTimeOffset at = T0.AddMinutes(random.Next(-10, 20));
        while (at < T1.AddMinutes(10))
        {
            DateTimeOffset end = at.AddMinutes(random.Next(1, 25));
            if (random.Next(3) > 0)
            {
                allocations.Add(new AllocationSpan(at, end, "m" + random.Next(3), "t" + random.Next(2)));
            }

            at = end.AddMinutes(random.Next(0, 10));
        }

        return allocations;
    }

    /// <summary>Zero to three workloads per minute, each with or without its own utilization and requested fraction.</summary>
    private static List<WorkloadBucket> RandomWorkloads(Random random)
    {
        var workloads = new List<WorkloadBucket>();
        if (random.Next(3) == 0)
        {
            return workloads;
        }

        bool utilization = random.Next(2) == 0, requested = random.Next(2) == 0;
        for (DateTimeOffset minute = T0.AddMinutes(-3); minute < T1.AddMinutes(3); minute = minute.AddMinutes(1))
        {
            int count = random.Next(4);
            for (int w = 0; w < count; w++)
            {
                workloads.Add(new WorkloadBucket(
                    minute, minute.AddMinutes(1), "w" + w, "m" + w, "t" + (w % 2),
                    utilization ? random.NextDouble() * 70 : null, requested ? random.NextDouble() * 0.6 : null));
            }
        }

        return workloads;
    }

    [Fact]
    public void Segments_FillGapsAsUnallocated_AndClipToTheWindow()
    {
        IReadOnlyList<AllocationSpan> segments = GpuCostCalculator.Segments(
            [new AllocationSpan(T0.AddMinutes(-5), T0.AddMinutes(10), "a", null), new AllocationSpan(T0.AddMinutes(20), T0.AddMinutes(70), "b", null)], T0, T1);
        Assert.Equal(
            [(0, 10, "a"), (10, 20, null), (20, 60, "b")],
            segments.Select(s => ((int)(s.Start - T0).TotalMinutes, (int)(s.End - T0).TotalMinutes, s.Model)));
    }
}
