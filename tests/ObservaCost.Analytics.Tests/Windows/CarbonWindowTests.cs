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
/// Carbon through the window service, stored (the embedded store and a real influxd 1.x) and read back: a
/// hand-computed window whose intensity changes at half past (a schedule at UTC+05:30), embodied carbon on two of
/// three GPUs, gCO2e per 1M tokens in the rows and KPIs, a recompute after the intensity changed replacing the stored
/// carbon, and a window stored before carbon reading as null, never zero.
/// </summary>
public sealed class CarbonWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    // 300 g/kWh, 500 g/kWh from 16:00 at +05:30 = 10:30 UTC. Embodied: H100 1,500 kg over 5 years
    // (1,500,000 g / 43,800 h = 34.246575342465754 g/GPU-h), A100 876 kg over 5 years (876,000 / 43,800 = 20 g/GPU-h).
    private const string Schedule = """
        { "gco2ePerKilowattHour": 300, "utcOffset": "+05:30", "source": "test grid",
          "periods": [ { "name": "evening", "gco2ePerKilowattHour": 500, "startHour": 16, "endHour": 24 } ] }
        """;

    private const double H100EmbodiedGrams = 1_500_000.0 / 43_800.0;

    private static string Pricing(string carbon) => """
        {
          "energy": { "pue": 1.5, "tariff": { "usdPerKilowattHour": 0.20, "timeZone": "UTC" } },
          "carbon": CARBON,
          "gpus": {
            "H100": { "owned": { "purchaseUsd": 43800, "salvageUsd": 8760, "depreciationYears": 4 }, "embodiedCarbon": { "kgCo2ePerGpu": 1500, "amortisationYears": 5 } },
            "A100": { "rented": { "usdPerGpuHour": 2.0, "energyIncluded": false }, "embodiedCarbon": { "kgCo2ePerGpu": 876, "amortisationYears": 5 } },
            "L40S": { "rented": { "usdPerGpuHour": 1.5, "energyIncluded": true } }
          }
        }
        """.Replace("CARBON", carbon, StringComparison.Ordinal);

    private static CostWindowService Service(ITimeSeriesStore store, string carbon = Schedule) =>
        new(store, PricingFileReader.Parse(Pricing(carbon)), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);

    private static WindowSelection Hour(params string[] groupBy) => new() { From = T0, To = T0.AddHours(1), GroupBy = groupBy };

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task ScheduleCrossingHalfPast_HandComputed_RowsKpisAndStoredSumsAgree(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        await WriteFleetAsync(store);

        WindowCostReport report = await Service(store).ComputeAndWriteAsync(T0);

        // Every GPU draws 400 W for the hour: 0.2 kWh per half hour, × PUE 1.5 = 0.3 kWh; 0.3 × 300 + 0.3 × 500
        // = 90 + 150 = 240 g operational per GPU (the L40S's energy is inside its rental, its carbon is not).
        CostWindow h100 = report.Costs.Single(c => c.GpuUuid == "GPU-H100");
        CostWindow a100 = report.Costs.Single(c => c.GpuUuid == "GPU-A100");
        CostWindow l40s = report.Costs.Single(c => c.GpuUuid == "GPU-L40S");
        AssertCarbon(h100, operational: 240, embodied: H100EmbodiedGrams);
        AssertCarbon(a100, operational: 240, embodied: 20);
        AssertCarbon(l40s, operational: 240, embodied: 0);

        // llama/acme served 60 × (15,000 + 5,000) = 1,200,000 tokens, shared by GPU-hours: 600,000 per llama row.
        // H100: 274.24657534246575 g / 0.6 = 457.0776255707763 g per 1M tokens; L40S: 240 / 0.6 = 400.
        Precision.Close((240 + H100EmbodiedGrams) / 0.6, h100.Co2eGramsPerMillionTokens!.Value);
        Precision.Close(400, l40s.Co2eGramsPerMillionTokens!.Value);
        Assert.Null(a100.Co2eGramsPerMillionTokens);

        // Fleet: 3 × 240 = 720 g operational + 34.246575342465754 + 20 embodied = 774.24657534246575 g; Σ rows = fleet.
        // Idle: the A100 (1 %, the whole hour) = 240 + 20 = 260 g ≤ 774.25. Per 1M tokens: 774.24657534246575 / 1.2.
        KpiWindow fleet = report.Kpis.Single(k => k.Scope == KpiScope.Fleet);
        double fleetGrams = 720 + H100EmbodiedGrams + 20;
        Precision.Close(fleetGrams, fleet.Co2eGrams!.Value);
        Precision.Close(fleetGrams, report.Costs.Sum(c => c.Co2eGrams!.Value));
        Precision.Close(720, fleet.OperationalCo2eGrams!.Value);
        Precision.Close(H100EmbodiedGrams + 20, fleet.EmbodiedCo2eGrams!.Value);
        Precision.Close(260, fleet.IdleCo2eGrams!.Value);
        Precision.Close(fleetGrams / 1.2, fleet.Co2eGramsPerMillionTokens!.Value);

        // The model llama: 274.24657534246575 + 240 = 514.24657534246575 g over 1.2M tokens = 428.5388127853881 g/1M.
        KpiWindow llama = report.Kpis.Single(k => k.Scope == KpiScope.Model && k.Key == "llama");
        Precision.Close(514.24657534246575, llama.Co2eGrams!.Value);
        Precision.Close(514.24657534246575 / 1.2, llama.Co2eGramsPerMillionTokens!.Value);

        // Pools: own (H100) 274.24657534246575 g; rent (A100 + L40S) 260 + 240 = 500 g, its idle 260 g.
        Precision.Close(240 + H100EmbodiedGrams, report.Kpis.Single(k => k.Scope == KpiScope.Pool && k.Key == "own").Co2eGrams!.Value);
        KpiWindow rent = report.Kpis.Single(k => k.Scope == KpiScope.Pool && k.Key == "rent");
        Precision.Close(500, rent.Co2eGrams!.Value);
        Precision.Close(260, rent.IdleCo2eGrams!.Value);

        // Read back from the store, summed per pool and over the fleet: the same grams.
        IReadOnlyList<CostWindow> pools = await StoredWindowReader.ReadCostAsync(store, Hour(Tags.Pool));
        Precision.Close(500, pools.Single(c => c.Pool == "rent").Co2eGrams!.Value);
        CostWindow stored = (await StoredWindowReader.ReadCostAsync(store, Hour())).Single();
        Precision.Close(fleetGrams, stored.Co2eGrams!.Value);
        Precision.Close(720, stored.OperationalCo2eGrams!.Value);
        Precision.Close(fleetGrams / 1.2, stored.Co2eGramsPerMillionTokens!.Value);
        IdleWindow idle = (await StoredWindowReader.ReadIdleAsync(store, Hour())).Single();
        Precision.Close(260, idle.IdleCo2eGrams!.Value);
    }

    [Fact]
    public async Task Recompute_AfterIntensityChange_ReplacesTheStoredCarbon()
    {
        await using TestStore test = await TestStore.OpenAsync(StoreBackend.Embedded);
        ITimeSeriesStore store = test.Store;
        await WriteFleetAsync(store);
        await Service(store).ComputeAndWriteAsync(T0);
        Precision.Close(720, (await StoredWindowReader.ReadCostAsync(store, Hour())).Single().OperationalCo2eGrams!.Value);

        // A fixed 600 g/kWh: 0.6 kWh × 600 = 360 g per GPU, 1,080 g operational; + 54.246575342465754 embodied
        // = 1,134.2465753424658 g; the stored rows hold that, not the 774.25 g beside it.
        await Service(store, """{ "gco2ePerKilowattHour": 600 }""").ComputeAndWriteAsync(T0);

        CostWindow after = (await StoredWindowReader.ReadCostAsync(store, Hour())).Single();
        Precision.Close(1080, after.OperationalCo2eGrams!.Value);
        Precision.Close(1080 + H100EmbodiedGrams + 20, after.Co2eGrams!.Value);
        Precision.Close(360 + 20, (await StoredWindowReader.ReadIdleAsync(store, Hour())).Single().IdleCo2eGrams!.Value);
    }

    [Theory]
    [InlineData(StoreBackend.Embedded)]
    [InlineData(StoreBackend.InfluxDb)]
    public async Task WindowStoredBeforeCarbon_ReadsNullNotZero(StoreBackend backend)
    {
        await using TestStore test = await TestStore.OpenAsync(backend);
        ITimeSeriesStore store = test.Store;
        // The hour before T0 as an older version stored it: no carbon fields.
        using (var writer = new LineProtocolWriter())
        {
            new CostWindow
            {
                WindowStart = T0.AddHours(-1), WindowLength = TimeSpan.FromHours(1), Pool = "rent", Node = "n2", GpuModel = "A100", GpuUuid = "GPU-A100",
                GpuHours = 1, GpuEnergyJoules = 1_440_000, FacilityEnergyJoules = 2_160_000, CapexUsd = 0, OpexUsd = 0, RentalUsd = 2.00, EnergyCostUsd = 0.12, CostUsd = 2.12,
            }.WriteTo(writer);
            await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        }

        await WriteFleetAsync(store);
        await Service(store).ComputeAndWriteAsync(T0);

        // Hour by hour: the old hour's carbon null, the new one's 774.25 g; both in one bucket: null, and so are the KPIs.
        IReadOnlyList<CostWindow> hours = await StoredWindowReader.ReadCostAsync(store, new WindowSelection { From = T0.AddHours(-1), To = T0.AddHours(1), Step = TimeSpan.FromHours(1) });
        Assert.Equal([null, Math.Round(720 + H100EmbodiedGrams + 20, 9)], hours.OrderBy(h => h.WindowStart).Select(h => h.Co2eGrams is double g ? Math.Round(g, 9) : (double?)null));
        CostWindow both = (await StoredWindowReader.ReadCostAsync(store, new WindowSelection { From = T0.AddHours(-1), To = T0.AddHours(1) })).Single();
        Assert.Null(both.Co2eGrams);
        Assert.Null(both.Co2eGramsPerMillionTokens);
        KpiWindow fleet = KpiCalculator.Compute(T0.AddHours(-1), TimeSpan.FromHours(2), hours, []).Single(k => k.Scope == KpiScope.Fleet);
        Assert.Null(fleet.Co2eGrams);
        Assert.Null(fleet.Co2eGramsPerMillionTokens);
    }

    private static void AssertCarbon(CostWindow row, double operational, double embodied)
    {
        Precision.Close(operational, row.OperationalCo2eGrams!.Value);
        Precision.Close(embodied, row.EmbodiedCo2eGrams!.Value);
        Precision.Close(operational + embodied, row.Co2eGrams!.Value);
    }

    /// <summary>
    /// Three GPUs with 10 s samples from T0 − 10 min to T0 + 70 min at a constant 400 W: an owned H100 in pool own and a
    /// rented L40S in pool rent serve llama for acme at 60 %; a rented A100 in pool rent sits unallocated at 1 %.
    /// llama/acme requests: 15,000 prompt and 5,000 completion tokens a minute.
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

        for (DateTimeOffset t = T0; t < T0.AddHours(1); t = t.AddMinutes(1))
        {
            new InferenceWindow
            {
                WindowStart = t, WindowLength = TimeSpan.FromMinutes(1), Model = "llama", Tenant = "acme", Source = "request_log", Status = "ok",
                RequestCount = 10, PromptTokens = 15_000, CompletionTokens = 5_000,
            }.WriteTo(writer);
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}
