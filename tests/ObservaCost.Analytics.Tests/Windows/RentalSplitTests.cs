using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Kpi;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Reading;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// Rental as its own cost component, computed, stored (the embedded store and a real influxd 1.x) and read back: a hand-computed window with
/// an owned pool and a rented pool (one rental billing energy apart, one with energy included), a recompute after a
/// price change replacing the stored rental, and windows stored before the split (no <c>rental_usd</c>) reading with
/// rental null and inside opex, never as zero.
/// </summary>
public sealed class RentalSplitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    // Capex (43,800 − 8,760) / (4 × 8,760 h) = 1.00 $/GPU-h, opex 0.25; energy at PUE 1.5 and 0.20 $/kWh.
    private static string Pricing(double a100RentalUsdPerGpuHour) => """
        {
          "energy": { "pue": 1.5, "tariff": { "usdPerKilowattHour": 0.20, "timeZone": "UTC" } },
          "gpus": {
            "H100": { "owned": { "purchaseUsd": 43800, "salvageUsd": 8760, "depreciationYears": 4, "opexUsdPerGpuHour": 0.25 } },
            "A100": { "rented": { "usdPerGpuHour": A100RATE, "commitment": "on-demand", "energyIncluded": false } },
            "L40S": { "rented": { "usdPerGpuHour": 1.5, "commitment": "reserved", "energyIncluded": true } }
          }
        }
        """.Replace("A100RATE", a100RentalUsdPerGpuHour.ToString("R", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static CostWindowService Service(ITimeSeriesStore store, double a100RentalUsdPerGpuHour = 2.0) =>
        new(store, PricingFileReader.Parse(Pricing(a100RentalUsdPerGpuHour)), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);

    private static WindowSelection Hour(params string[] groupBy) => new() { From = T0, To = T0.AddHours(1), GroupBy = groupBy };

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task OwnedAndRentedPools_HandComputed_EveryComponentApartAndEveryDollarAttributedOrIdle(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        await WriteFleetAsync(store);

        WindowCostReport report = await Service(store).ComputeAndWriteAsync(T0);

        // Every GPU draws 400 W for the whole hour: 1.44 MJ; × PUE 1.5 = 2.16 MJ = 0.6 kWh → $0.12 where billed.
        // H100 (pool own, owned, llama/acme at 60 %): capex 1.00 + opex 0.25 + rental 0 + energy 0.12 = $1.37.
        CostWindow h100 = report.Costs.Single(c => c.GpuUuid == "GPU-H100");
        Assert.Equal(("llama", "acme", "own"), (h100.Model, h100.Tenant, h100.Pool));
        AssertComponents(h100, capex: 1.00, opex: 0.25, rental: 0, energy: 0.12, cost: 1.37);

        // A100 (pool rent, rented at $2.00/GPU-h, energy billed apart; unallocated at 1 %): rental 2.00 + energy 0.12
        // = $2.12, all of it idle (the whole hour under 5 %).
        CostWindow a100 = report.Costs.Single(c => c.GpuUuid == "GPU-A100");
        Assert.Equal((null, "rent"), (a100.Model, a100.Pool));
        AssertComponents(a100, capex: 0, opex: 0, rental: 2.00, energy: 0.12, cost: 2.12);

        // L40S (pool rent, rented at $1.50/GPU-h with energy included; llama/acme at 60 %): rental 1.50, energy $0
        // though its 2.16 MJ of facility energy is still counted.
        CostWindow l40s = report.Costs.Single(c => c.GpuUuid == "GPU-L40S");
        Assert.Equal(("llama", "rent"), (l40s.Model, l40s.Pool));
        AssertComponents(l40s, capex: 0, opex: 0, rental: 1.50, energy: 0, cost: 1.50);
        Precision.Close(2_160_000, l40s.FacilityEnergyJoules);

        // Fleet: 1.37 + 2.12 + 1.50 = $4.99 = capex 1.00 + opex 0.25 + rental 3.50 + energy 0.24.
        // Attributed (llama) 1.37 + 1.50 = 2.87; idle 2.12 (the A100); 2.87 + 2.12 = 4.99.
        KpiWindow fleet = report.Kpis.Single(k => k.Scope == KpiScope.Fleet);
        Precision.Close(4.99, fleet.CostUsd);
        Precision.Close(1.00, fleet.CapexUsd);
        Precision.Close(0.25, fleet.OpexUsd);
        Precision.Close(3.50, fleet.RentalUsd!.Value);
        Precision.Close(0.24, fleet.EnergyCostUsd);
        Precision.Close(2.12, fleet.IdleCostUsd!.Value);
        Precision.Close(fleet.CostUsd, report.Costs.Where(c => c.Model is not null).Sum(c => c.CostUsd) + fleet.IdleCostUsd.Value);

        // Pools: own $1.37 with no rental; rent $3.62 = rental 3.50 + energy 0.12, idle $2.12.
        KpiWindow own = report.Kpis.Single(k => k.Scope == KpiScope.Pool && k.Key == "own");
        Precision.Close(0, own.RentalUsd!.Value);
        Precision.Close(1.37, own.CostUsd);
        KpiWindow rent = report.Kpis.Single(k => k.Scope == KpiScope.Pool && k.Key == "rent");
        Precision.Close(3.50, rent.RentalUsd!.Value);
        Precision.Close(3.62, rent.CostUsd);
        Precision.Close(2.12, rent.IdleCostUsd!.Value);

        // Read back from the store, summed per pool: the same components.
        IReadOnlyList<CostWindow> stored = await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Pool));
        AssertComponents(stored.Single(c => c.Pool == "rent"), capex: 0, opex: 0, rental: 3.50, energy: 0.12, cost: 3.62);
        AssertComponents(stored.Single(c => c.Pool == "own"), capex: 1.00, opex: 0.25, rental: 0, energy: 0.12, cost: 1.37);
    }

    private static void AssertComponents(CostWindow row, double capex, double opex, double rental, double energy, double cost)
    {
        Assert.NotNull(row.RentalUsd);
        Precision.Close(capex, row.CapexUsd);
        Precision.Close(opex, row.OpexUsd);
        Precision.Close(rental, row.RentalUsd.Value);
        Precision.Close(energy, row.EnergyCostUsd);
        Precision.Close(cost, row.CostUsd);
    }

    [Fact]
    public async Task Recompute_AfterRentalPriceChange_ReplacesTheStoredRental()
    {
        await using TestStore test = await TestStore.OpenAsync(StoreBackend.Embedded);
        ITimeSeriesStore store = test.Store;
        await WriteFleetAsync(store);
        await Service(store, a100RentalUsdPerGpuHour: 2.0).ComputeAndWriteAsync(T0);
        CostWindow before = (await StoredWindowReader.ReadCostAsync(store, Hour())).Single();
        Precision.Close(3.50, before.RentalUsd!.Value);

        // The A100's rental goes from $2.00 to $3.25 per GPU-hour: fleet rental 3.25 + 1.50 = 4.75, cost
        // 1.37 + (3.25 + 0.12) + 1.50 = 6.24; the stored A100 row holds 3.25, not 2.00 beside it.
        await Service(store, a100RentalUsdPerGpuHour: 3.25).ComputeAndWriteAsync(T0);

        CostWindow after = (await StoredWindowReader.ReadCostAsync(store, Hour())).Single();
        Precision.Close(4.75, after.RentalUsd!.Value);
        Precision.Close(6.24, after.CostUsd);
        CostWindow a100 = (await StoredWindowReader.ReadCostAsync(store, Hour(Tags.GpuUuid))).Single(c => c.GpuUuid == "GPU-A100");
        Precision.Close(3.25, a100.RentalUsd!.Value);
        Precision.Close(3.37, a100.CostUsd);
    }

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task WindowStoredBeforeTheSplit_ReadsRentalNullAndInsideOpex_MixedPeriodFoldsRentalIntoOpex(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        // The hour before T0 as an older version stored it: the rented GPU's $2.00 inside opex, no rental_usd field.
        using (var writer = new LineProtocolWriter())
        {
            new CostWindow
            {
                WindowStart = T0.AddHours(-1), WindowLength = TimeSpan.FromHours(1), Pool = "rent", Node = "n2", GpuModel = "A100", GpuUuid = "GPU-A100",
                GpuHours = 1, GpuEnergyJoules = 1_440_000, FacilityEnergyJoules = 2_160_000, CapexUsd = 0, OpexUsd = 2.00, EnergyCostUsd = 0.12, CostUsd = 2.12,
            }.WriteTo(writer);
            await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        }

        // The hour at T0 computed now: rental 3.50, opex 0.25 (see the hand-computed test).
        await WriteFleetAsync(store);
        await Service(store).ComputeAndWriteAsync(T0);

        // The old hour alone: rental null (inside opex), opex $2.00, never a rental of 0.
        CostWindow old = (await StoredWindowReader.ReadCostAsync(store, new WindowSelection { From = T0.AddHours(-1), To = T0 })).Single();
        Assert.Null(old.RentalUsd);
        Precision.Close(2.00, old.OpexUsd);

        // Both hours in one bucket: rental null, opex 2.00 + 0.25 + 3.50 = 5.75, so capex 1.00 + opex 5.75 + energy
        // (0.12 + 0.24) = 7.11 = cost 2.12 + 4.99.
        CostWindow both = (await StoredWindowReader.ReadCostAsync(store, new WindowSelection { From = T0.AddHours(-1), To = T0.AddHours(1) })).Single();
        Assert.Null(both.RentalUsd);
        Precision.Close(5.75, both.OpexUsd);
        Precision.Close(7.11, both.CostUsd);
        Precision.Close(both.CostUsd, both.CapexUsd + both.OpexUsd + both.EnergyCostUsd);

        // Hour by hour: the old hour null, the new one split.
        IReadOnlyList<CostWindow> hours = await StoredWindowReader.ReadCostAsync(store, new WindowSelection { From = T0.AddHours(-1), To = T0.AddHours(1), Step = TimeSpan.FromHours(1) });
        Assert.Equal([null, 3.50], hours.OrderBy(h => h.WindowStart).Select(h => h.RentalUsd is double r ? Math.Round(r, 9) : (double?)null));

        // KPIs over the stored hours: the same rule (rental null, folded into opex).
        KpiWindow fleet = KpiCalculator.Compute(T0.AddHours(-1), TimeSpan.FromHours(2), hours, []).Single(k => k.Scope == KpiScope.Fleet);
        Assert.Null(fleet.RentalUsd);
        Precision.Close(5.75, fleet.OpexUsd);
    }

    /// <summary>
    /// Three GPUs with 10 s samples from T0 − 10 min to T0 + 70 min at a constant 400 W: an owned H100 in pool own and a
    /// rented L40S in pool rent serve llama for acme at 60 %; a rented A100 in pool rent sits unallocated at 1 %.
    /// </summary>
    private static async Task WriteFleetAsync(ITimeSeriesStore store)
    {
        using var writer = new LineProtocolWriter();
        (string Uuid, string GpuModel, string Pool, string Node, bool Serving)[] gpus =
            [("GPU-H100", "H100", "own", "n1", true), ("GPU-A100", "A100", "rent", "n2", false), ("GPU-L40S", "L40S", "rent", "n2", true)];
        for (int g = 0; g < gpus.Length; g++)
        {
            (string uuid, string gpuModel, string pool, string node, bool serving) = gpus[g];
            for (DateTimeOffset t = T0.AddMinutes(-10); t <= T0.AddMinutes(70); t = t.AddSeconds(10))
            {
                new GpuSample
                {
                    Time = t, Node = node, GpuIndex = g, GpuUuid = uuid, GpuModel = gpuModel, Pool = pool,
                    Pod = serving ? "llama-" + g.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
                    Namespace = serving ? "acme" : null,
                    ServedModel = serving ? "llama" : null,
                    PowerWatts = 400, UtilizationPercent = serving ? 60 : 1,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}
