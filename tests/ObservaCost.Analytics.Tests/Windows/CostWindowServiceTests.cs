using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// The window service on random fleets written through the schema into the embedded store: every dollar is either
/// attributed or unallocated, idle is never negative nor more than the cost, and recomputing a window replaces its
/// points exactly; so do recomputing a KPI day and the 1-minute rollup after the data changed.
/// </summary>
public sealed class CostWindowServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private const string Pricing = """
        {
          "energy": { "pue": 1.25, "nodePowerWatts": 600,
                      "tariff": { "usdPerKilowattHour": 0.10, "timeZone": "UTC",
                                  "periods": [ { "name": "peak", "usdPerKilowattHour": 0.30, "startHour": 10, "endHour": 11, "days": ["Sat"] } ] } },
          "carbon": { "gco2ePerKilowattHour": 380, "utcOffset": "+05:30",
                      "periods": [ { "name": "solar", "gco2ePerKilowattHour": 120, "startHour": 16, "endHour": 20, "days": ["Sat"] } ] },
          "gpus": {
            "H100": { "owned": { "purchaseUsd": 30000, "salvageUsd": 3000, "depreciationYears": 4, "opexUsdPerGpuHour": 0.35 }, "embodiedCarbon": { "kgCo2ePerGpu": 1500, "amortisationYears": 5 } },
            "L40S": { "rented": { "usdPerGpuHour": 1.1, "commitment": "reserved", "energyIncluded": true } }
          },
          "default": { "rented": { "usdPerGpuHour": 0.5, "commitment": "spot", "energyIncluded": false } },
          "poolModels": { "batch": "mistral" },
          "revenueUsdPerMillionTokens": { "llama": 0.9 },
          "tokenCostSplit": { "completionTokenWeight": 3 }
        }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-window-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    private SqliteStore Store => _store!;

    public Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private CostWindowService Service(GpuReadingSource source = GpuReadingSource.Raw) =>
        new(Store, PricingFileReader.Parse(Pricing), new AnalyticsWindowOptions { GpuSource = source }, NullLogger<CostWindowService>.Instance);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomFleet_EveryDollarAttributedOrUnallocated_IdleWithinCost_RecomputeIdentical(int seed)
    {
        var random = new Random(seed);
        await WriteRandomFleetAsync(random, gpus: 12);
        CostWindowService service = Service();
        PricingFile pricing = PricingFileReader.Parse(Pricing);

        WindowCostReport report = await service.ComputeAndWriteAsync(T0);

        // The fleet priced GPU by GPU with no allocations: one line each, the whole window.
        IReadOnlyList<GpuWindowInput> inputs = await FleetWindowReader.ReadAsync(Store, T0, T0.AddHours(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), pricing.ServedModelForPool);
        TariffSchedule schedule = pricing.Energy.ScheduleFor(T0, T0.AddHours(1));
        double fleetUsd = 0, fleetGrams = 0;
        foreach (GpuWindowInput gpu in inputs)
        {
            int onNode = inputs.Count(g => g.Node == gpu.Node);
            GpuWindowInput whole = gpu with { Allocations = [], NodePowerWatts = 600.0 / onNode };
            GpuWindowCost wholeCost = GpuCostCalculator.Compute(whole, T0, T0.AddHours(1), pricing.Resolve(gpu.Pool, gpu.GpuModel), pricing.Energy, schedule, pricing.IdleThresholdsFor(gpu.Pool), TimeSpan.FromMinutes(2));
            fleetUsd += wholeCost.CostUsd;
            fleetGrams += wholeCost.Lines.Sum(l => l.Co2eGrams);
        }

        double attributed = report.Costs.Where(c => c.Model is not null).Sum(c => c.CostUsd);
        double unallocated = report.Costs.Where(c => c.Model is null).Sum(c => c.CostUsd);
        Assert.True(attributed > 0 && unallocated > 0, "the random fleet has allocated and unallocated time");
        Precision.Close(fleetUsd, attributed + unallocated);
        Precision.Close(12.0, report.Costs.Sum(c => c.GpuHours));
        Assert.All(report.Idle, i =>
        {
            Assert.True(i.IdleCostUsd >= 0 && i.IdleGpuHours >= 0 && i.IdleEnergyJoules >= 0);
            Assert.True(i.IdleGpuHours <= i.GpuHours + 1e-12);
        });
        Assert.True(report.Idle.Sum(i => i.IdleCostUsd) <= fleetUsd);

        // Carbon (intensity 380 g/kWh, 120 from 10:30 UTC; H100s embody carbon): Σ rows = the fleet priced GPU by GPU,
        // tenant parts included; idle carbon within the total; the fleet KPI's is the rows' sum.
        Assert.True(fleetGrams > 0);
        Precision.Close(fleetGrams, report.Costs.Sum(c => c.Co2eGrams!.Value));
        Precision.Close(fleetGrams, report.Costs.Sum(c => c.OperationalCo2eGrams!.Value + c.EmbodiedCo2eGrams!.Value));
        Assert.All(report.Idle, i => Assert.InRange(i.IdleCo2eGrams!.Value, 0, fleetGrams));
        Assert.True(report.Idle.Sum(i => i.IdleCo2eGrams!.Value) <= fleetGrams);

        // Every cost row splits into prompt and completion cost by the rule: completion tokens weigh 3.
        foreach (CostWindow row in report.Costs.Where(c => c.PromptTokens + c.CompletionTokens > 0))
        {
            Precision.Close(row.CostUsd, row.PromptCostUsd + row.CompletionCostUsd);
            // Rows hold whole tokens while the split uses the unrounded shares: equal to a token in thousands.
            double rule = row.CostUsd * row.PromptTokens / (row.PromptTokens + (3.0 * row.CompletionTokens));
            Assert.InRange(row.PromptCostUsd, rule * (1 - 1e-4), rule * (1 + 1e-4));
            Assert.InRange(row.CapacityUtilizationRatio!.Value, 0, 1 + 1e-12);
        }

        // The fleet KPI is the sum of the rows, and ROI is only where revenue is configured.
        KpiWindow fleet = report.Kpis.Single(k => k.Scope == KpiScope.Fleet);
        Precision.Close(fleetUsd, fleet.CostUsd);
        Precision.Close(report.Idle.Sum(i => i.IdleCostUsd), fleet.IdleCostUsd!.Value);
        Precision.Close(fleetGrams, fleet.Co2eGrams!.Value);
        Precision.Close(report.Idle.Sum(i => i.IdleCo2eGrams!.Value), fleet.IdleCo2eGrams!.Value);
        Assert.NotNull(report.Kpis.Single(k => k.Scope == KpiScope.Model && k.Key == "llama").Roi);
        Assert.Null(report.Kpis.Single(k => k.Scope == KpiScope.Model && k.Key == "mistral").Roi);

        // Recomputing gives identical stored points.
        string first = await DumpAsync();
        await Service().ComputeAndWriteAsync(T0);
        Assert.Equal(first, await DumpAsync());

        // Read from the 1-minute rollup instead of the raw samples, the window is the same to 1e-9.
        await new GpuRollupService(Store, PricingFileReader.Parse(Pricing), NullLogger<GpuRollupService>.Instance).RollupAsync(T0.AddMinutes(-10), T0.AddMinutes(70));
        WindowCostReport fromRollup = await Service(GpuReadingSource.Rollup).ComputeAsync(T0);
        Assert.Equal(report.Costs.Count, fromRollup.Costs.Count);
        Precision.Close(report.CostUsd, fromRollup.CostUsd);
        Precision.Close(report.Idle.Sum(i => i.IdleCostUsd), fromRollup.Idle.Sum(i => i.IdleCostUsd));
        Precision.Close(report.Costs.Sum(c => c.FacilityEnergyJoules), fromRollup.Costs.Sum(c => c.FacilityEnergyJoules));
        Precision.Close(report.Costs.Sum(c => c.Co2eGrams!.Value), fromRollup.Costs.Sum(c => c.Co2eGrams!.Value));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task RandomFleetWithMigAndSharedGpus_EveryDollarAndGramAttributedOrUnallocated_IdleWithinCost_RecomputeReplaces(int seed)
    {
        var random = new Random(seed);
        await WriteRandomFleetAsync(random, gpus: 6);
        using (var writer = new LineProtocolWriter())
        {
            for (int g = 0; g < 3; g++)
            {
                RandomDividedGpus.WriteMig(writer, random, "GPU-MIG-" + g, "node-mig-" + g, g == 0 ? "batch" : "chat", T0.AddMinutes(-10), T0.AddMinutes(70), jitter: false, layout: null);
                RandomDividedGpus.WriteShared(writer, random, "GPU-SHARED-" + g, "node-shared-" + g, g == 0 ? "batch" : "chat", T0.AddMinutes(-10), T0.AddMinutes(70));
            }

            Assert.Equal(0, (await Store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
        }

        PricingFile pricing = PricingFileReader.Parse(Pricing);
        WindowCostReport report = await Service().ComputeAndWriteAsync(T0);

        // Each GPU priced whole (no allocation, not divided) gives the total its rows must add up to.
        IReadOnlyList<GpuWindowInput> inputs = await FleetWindowReader.ReadAsync(Store, T0, T0.AddHours(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), pricing.ServedModelForPool);
        Assert.Equal(12, inputs.Count);
        Assert.Equal(3, inputs.Count(g => g.Partitions?.Any(p => p.MigInstance is not null) == true));
        TariffSchedule schedule = pricing.Energy.Tariff.ScheduleFor(T0, T0.AddHours(1));
        TariffSchedule carbonSchedule = pricing.Energy.ScheduleFor(T0, T0.AddHours(1));
        foreach (GpuWindowInput gpu in inputs)
        {
            int onNode = inputs.Count(g => g.Node == gpu.Node);
            GpuWindowInput whole = gpu with { Allocations = [], Partitions = null, NodePowerWatts = 600.0 / onNode };
            double gpuUsd = GpuCostCalculator.Compute(whole, T0, T0.AddHours(1), pricing.Resolve(gpu.Pool, gpu.GpuModel), pricing.Energy, schedule, pricing.IdleThresholdsFor(gpu.Pool), TimeSpan.FromMinutes(2)).CostUsd;
            CostWindow[] rows = [.. report.Costs.Where(c => c.GpuUuid == gpu.GpuUuid)];
            Precision.Close(gpuUsd, rows.Sum(c => c.CostUsd));

            // Carbon goes with the energy and the hours through the divided path too (the intensity crosses 10:30 UTC,
            // the H100s embody carbon): the GPU's rows carry exactly the whole GPU's gCO2e, none of them negative.
            double gpuGrams = GpuCostCalculator.Compute(whole, T0, T0.AddHours(1), pricing.Resolve(gpu.Pool, gpu.GpuModel), pricing.Energy, carbonSchedule, pricing.IdleThresholdsFor(gpu.Pool), TimeSpan.FromMinutes(2)).Lines.Sum(l => l.Co2eGrams);
            Assert.True(gpuGrams > 0, $"{gpu.GpuUuid} has carbon");
            Precision.Close(gpuGrams, rows.Sum(c => c.Co2eGrams!.Value));
            Assert.All(rows, c => Assert.True(c.Co2eGrams >= 0 && c.OperationalCo2eGrams >= 0 && c.EmbodiedCo2eGrams >= 0));
            Precision.Close(1.0, rows.Sum(c => c.GpuHours));
            Assert.All(rows, c => Assert.True(c.CostUsd >= 0 && c.AttributionBasis is not null));
            if (gpu.GpuUuid.StartsWith("GPU-MIG-", StringComparison.Ordinal))
            {
                Assert.All(rows, c => Assert.Contains(c.AttributionBasis!, new[] { AttributionBases.MigSlices, AttributionBases.MigEqual }));
                Assert.Contains(rows, c => c.MigInstance is not null && c.MigProfile is not null);
            }
        }

        Assert.Contains(report.Costs, c => c.AttributionBasis is AttributionBases.ProcessUtilization or AttributionBases.RequestedFraction or AttributionBases.RequestedFractionNormalised or AttributionBases.Tokens or AttributionBases.Equal);
        Assert.All(report.Idle, i =>
        {
            Assert.True(i.IdleCostUsd >= 0 && i.IdleGpuHours >= 0 && i.IdleEnergyJoules >= 0);
            Assert.True(i.IdleGpuHours <= i.GpuHours + 1e-12);
            double cost = report.Costs.Where(c => c.Node == i.Node && c.Pool == i.Pool && c.GpuModel == i.GpuModel).Sum(c => c.CostUsd);
            Assert.True(i.IdleCostUsd <= cost + 1e-9, $"idle {i.IdleCostUsd} > cost {cost} on {i.Node}");
            double grams = report.Costs.Where(c => c.Node == i.Node && c.Pool == i.Pool && c.GpuModel == i.GpuModel).Sum(c => c.Co2eGrams!.Value);
            Assert.InRange(i.IdleCo2eGrams!.Value, 0, grams + 1e-9);
        });

        // The stored rows keep instance, profile and basis; a recompute leaves exactly the points one computation leaves.
        Assert.Equal(Identities(report.Costs), await StoredIdentitiesAsync());
        string first = await DumpAsync();
        await Service().ComputeAndWriteAsync(T0);
        Assert.Equal(first, await DumpAsync());

        // The workloads' points are gone after all (and the MIG GPUs were never partitioned): a recompute replaces
        // every divided row with the whole GPUs' rows.
        await Store.DeleteAsync(Measurements.GpuWorkload, T0.AddHours(-1), T0.AddHours(2), new Dictionary<string, string>());
        await Store.DeleteAsync(Measurements.GpuSample, T0.AddHours(-1), T0.AddHours(2), new Dictionary<string, string> { [Tags.Node] = "node-mig-0" });
        WindowCostReport after = await Service().ComputeAndWriteAsync(T0);
        Assert.DoesNotContain(after.Costs, c => c.GpuUuid == "GPU-MIG-0");
        Assert.DoesNotContain(after.Costs, c => c.AttributionBasis is AttributionBases.ProcessUtilization or AttributionBases.RequestedFraction or AttributionBases.RequestedFractionNormalised or AttributionBases.Tokens);
        Assert.Equal(Identities(after.Costs), await StoredIdentitiesAsync());
    }

    private static string[] Identities(IEnumerable<CostWindow> rows) =>
        [.. rows.Select(c => string.Join('|', c.GpuUuid, c.MigInstance, c.MigProfile, c.AttributionBasis, c.Model, c.Tenant)).Order(StringComparer.Ordinal)];

    private async Task<string[]> StoredIdentitiesAsync()
    {
        IReadOnlyList<CostWindow> stored = await Reading.StoredWindowReader.ReadCostAsync(Store, new Reading.WindowSelection
        {
            From = T0,
            To = T0.AddHours(1),
            GroupBy = [Tags.GpuUuid, Tags.MigInstance, Tags.MigProfile, Tags.AttributionBasis, Tags.Model, Tags.Tenant],
        });
        return Identities(stored);
    }

    [Fact]
    public async Task Recompute_AfterAllocationsChange_RemovesRowsThatNoLongerExist()
    {
        await WriteRandomFleetAsync(new Random(7), gpus: 4);
        await Service().ComputeAndWriteAsync(T0);
        Assert.Contains("model=llama", await DumpAsync(), StringComparison.Ordinal);

        // The samples are rewritten without any pod: every GPU was unallocated after all.
        using var writer = new LineProtocolWriter();
        await Store.DeleteAsync(Measurements.GpuSample, T0.AddHours(-1), T0.AddHours(2), new Dictionary<string, string>());
        await WriteRandomFleetAsync(new Random(7), gpus: 4, allocate: false);
        WindowCostReport report = await Service().ComputeAndWriteAsync(T0);

        Assert.All(report.Costs, c => Assert.Null(c.Model));
        string dump = await DumpAsync();
        Assert.DoesNotContain("model=llama", dump, StringComparison.Ordinal);
        Assert.DoesNotContain("model=mistral", dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecomputeKpiDay_AfterAllocationsChange_RemovesModelsThatNoLongerExist()
    {
        DateTimeOffset day = new(T0.Year, T0.Month, T0.Day, 0, 0, 0, TimeSpan.Zero);
        var kpiDays = new KpiRollupService(Store, new AnalyticsWindowOptions(), NullLogger<KpiRollupService>.Instance);
        await WriteRandomFleetAsync(new Random(7), gpus: 4);
        await Service().ComputeAndWriteAsync(T0);
        await kpiDays.RollupDayAsync(day);
        Assert.Contains("scope=model,key=llama", await DayKpiSeriesAsync(day), StringComparer.Ordinal);

        // The samples are rewritten without any pod, the hour recomputed, then the day: no model KPI may survive.
        await Store.DeleteAsync(Measurements.GpuSample, T0.AddHours(-1), T0.AddHours(2), new Dictionary<string, string>());
        await WriteRandomFleetAsync(new Random(7), gpus: 4, allocate: false);
        await Service().ComputeAndWriteAsync(T0);
        IReadOnlyList<KpiWindow> kpis = await kpiDays.RollupDayAsync(day);

        Assert.DoesNotContain(kpis, k => k.Scope == KpiScope.Model);
        IReadOnlyList<string> stored = await DayKpiSeriesAsync(day);
        Assert.DoesNotContain(stored, series => series.Contains("scope=model", StringComparison.Ordinal));
        Assert.Equal(kpis.Count, stored.Count);
    }

    [Fact]
    public async Task RecomputeRollup_AfterAllocationsChange_RemovesMinutesOfPlacementsThatNoLongerExist()
    {
        var rollup = new GpuRollupService(Store, PricingFileReader.Parse(Pricing), NullLogger<GpuRollupService>.Instance);
        await WriteRandomFleetAsync(new Random(7), gpus: 4);
        await rollup.RollupAsync(T0.AddMinutes(-10), T0.AddMinutes(70));
        Assert.Contains("llama", await RolledUpServedModelsAsync(), StringComparer.Ordinal);

        // The samples are rewritten without any pod: the minutes rolled up again hold no served model, and the store
        // holds exactly the minutes of the second rollup (without the delete, the allocated minutes of the first would
        // stay beside them).
        await Store.DeleteAsync(Measurements.GpuSample, T0.AddHours(-1), T0.AddHours(2), new Dictionary<string, string>());
        await WriteRandomFleetAsync(new Random(7), gpus: 4, allocate: false);
        int second = await rollup.RollupAsync(T0.AddMinutes(-10), T0.AddMinutes(70));

        Assert.Equal([string.Empty], await RolledUpServedModelsAsync());
        QueryResult minutes = await Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuMinute).Count(Fields.PowerWatts).Between(T0.AddHours(-1), T0.AddHours(2)).Build());
        Assert.Equal(second, minutes.Series[0].Rows[0][0].Integer);
    }

    /// <summary>The tag keys (scope, key) of the stored daily KPI points of <paramref name="day"/>.</summary>
    private async Task<IReadOnlyList<string>> DayKpiSeriesAsync(DateTimeOffset day)
    {
        QueryResult result = await Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.KpiWindow).Field(Fields.CostUsd)
            .Between(day, day.AddDays(1)).WhereTag(Tags.Window, CostWindow.WindowTag(KpiRollupService.Day)).GroupBy(Tags.Scope, Tags.Key).Build());
        return [.. result.Series.SelectMany(s => s.Rows.Where(r => !r[0].IsNull).Select(_ => $"scope={s.Tags.GetValueOrDefault(Tags.Scope)},key={s.Tags.GetValueOrDefault(Tags.Key)}"))];
    }

    /// <summary>The served models of the stored 1-minute rollup (empty for unallocated minutes).</summary>
    private async Task<IReadOnlyList<string>> RolledUpServedModelsAsync()
    {
        QueryResult result = await Store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuMinute).Count(Fields.PowerWatts)
            .Between(T0.AddHours(-1), T0.AddHours(2)).GroupBy(Tags.ServedModel).Build());
        return [.. result.Series.Select(s => s.Tags.GetValueOrDefault(Tags.ServedModel) ?? string.Empty).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every stored cost, idle and KPI point of the window, field by field, in a stable order.</summary>
    private async Task<string> DumpAsync()
    {
        var lines = new List<string>();
        foreach (string measurement in new[] { Measurements.CostWindow, Measurements.IdleWindow, Measurements.KpiWindow })
        {
            foreach (string field in new[] { Fields.CostUsd, Fields.GpuHours, Fields.IdleCostUsd, Fields.PromptTokens, Fields.CompletionCostUsd, Fields.MaxTokens, Fields.FacilityEnergyJoules, Fields.RevenueUsd, Fields.Co2eGrams })
            {
                QueryResult result = await Store.QueryAsync(TimeSeriesQueryBuilder.From(measurement).Field(field)
                    .Between(T0.AddHours(-1), T0.AddHours(2)).GroupBy(Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel, Tags.Scope, Tags.Key, Tags.Window).Build());
                foreach (ResultSeries series in result.Series)
                {
                    foreach (ResultRow row in series.Rows.Where(r => !r[0].IsNull))
                    {
                        lines.Add($"{measurement} {series.TagKey} {field}={row[0]} @{row.TimeNanoseconds}");
                    }
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }

    /// <summary>
    /// GPUs on three nodes, 10 s samples with jitter-free times and random power and utilization; each GPU is served
    /// for a random part of the hour by llama (tenant acme or beta) or sits in the batch pool (model from the file).
    /// Tokens: request-log windows per minute for llama and mistral.
    /// </summary>
    private async Task WriteRandomFleetAsync(Random random, int gpus, bool allocate = true)
    {
        using var writer = new LineProtocolWriter();
        string[] models = ["H100", "L40S", "T4"];
        for (int g = 0; g < gpus; g++)
        {
            string node = "node-" + (g % 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
            string gpuModel = models[g % 3];
            string pool = g % 4 == 0 ? "batch" : "chat";
            DateTimeOffset allocatedFrom = T0.AddMinutes(random.Next(-10, 40));
            DateTimeOffset allocatedTo = allocatedFrom.AddMinutes(random.Next(5, 60));
            string tenant = random.Next(2) == 0 ? "acme" : "beta";
            double energy = random.Next(1_000_000);
            bool hasCounter = g % 2 == 0;
            for (DateTimeOffset t = T0.AddMinutes(-10); t < T0.AddMinutes(70); t = t.AddSeconds(10))
            {
                if (random.NextDouble() < 0.02)
                {
                    continue; // a lost sample now and then
                }

                bool allocated = allocate && t >= allocatedFrom && t < allocatedTo;
                double power = allocated ? 200 + random.Next(400) : 60 + random.Next(20);
                energy += power * 10;
                new GpuSample
                {
                    Time = t, Node = node, GpuIndex = g, GpuUuid = "GPU-" + g.ToString(System.Globalization.CultureInfo.InvariantCulture), GpuModel = gpuModel, Pool = pool,
                    Pod = allocated ? "pod-" + g.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
                    Namespace = allocated ? tenant : null,
                    ServedModel = allocated && pool == "chat" ? "llama" : null,
                    PowerWatts = power, UtilizationPercent = allocated ? 30 + random.Next(70) : random.Next(4),
                    EnergyJoules = hasCounter ? energy : null,
                }.WriteTo(writer);
            }
        }

        for (DateTimeOffset t = T0; t < T0.AddHours(1); t = t.AddMinutes(1))
        {
            foreach ((string model, string tenant) in new[] { ("llama", "acme"), ("llama", "beta"), ("mistral", "acme") })
            {
                new InferenceWindow
                {
                    WindowStart = t, WindowLength = TimeSpan.FromMinutes(1), Model = model, Tenant = tenant, Source = "request_log", Status = "ok",
                    RequestCount = 10 + random.Next(20), PromptTokens = 5_000 + random.Next(5_000), CompletionTokens = 1_000 + random.Next(2_000),
                    LatencyP50Ms = 200 + random.Next(100), LatencyP95Ms = 800 + random.Next(400),
                }.WriteTo(writer);
            }
        }

        WriteResult written = await Store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}
