using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Api;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Tests.Scheduling;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// One MIG-partitioned H100 (7 compute slices) for one hour, checked by hand through the window service, the store
/// and the API's cost rows: instance 1 (3g.40gb) busy at 80 % graphics activity serving llama for acme, instance 2
/// (2g.20gb) at 50 % serving mistral for beta, instance 3 (1g.10gb) held by qwen for gamma but idle at 1 %, and one
/// slice no instance holds. The physical GPU draws 420 W all hour (its own sample, without mig_instance); the node's
/// non-GPU power is the pricing file's 700 W, the node's only GPU.
/// </summary>
public abstract class MigGpuWindowTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private const string PricingJson = """
        {
          "energy": { "pue": 1.25, "nodePowerWatts": 700, "tariff": { "usdPerKilowattHour": 0.10 } },
          "gpus": { "H100": { "owned": { "purchaseUsd": 30000, "salvageUsd": 3000, "depreciationYears": 4, "opexUsdPerGpuHour": 0.35 } } }
        }
        """;

    // Hardware: capex (30,000 − 3,000) / (4 × 8,760) = 0.770547945 $/h, opex 0.35 $/h: by slices, s/7 of each.
    private const double CapexHourly = 27_000.0 / 35_040;
    private const double OpexHourly = 0.35;

    // GPU energy E = 420 W × 3,600 s = 1,512,000 J. The busy fraction B = Σ slices × activity / 7
    // = (3 × 0.8 + 2 × 0.5 + 1 × 0.01) / 7 = 3.41 / 7; an instance gets s × a / 7 of E (the active part E × B shared by
    // s × a) plus (1 − B) × s / 7 (the idle part by slices over all 7). With 1 − B = 3.59 / 7:
    //   3g: 2.4/7 + 3 × 3.59/49 = 27.57/49 → 850,731.43 J      2g: 1.0/7 + 2 × 3.59/49 = 14.18/49 → 437,554.29 J
    //   1g: 0.01/7 + 3.59/49 = 3.66/49 → 112,937.14 J         free slice: 3.59/49 → 110,777.14 J   (Σ = 49/49)
    private const double GpuJoules = 420.0 * 3600;
    private static readonly (string? Instance, string? Profile, string? Model, string? Tenant, double Slices, double EnergyShare)[] Parts =
    [
        ("1", "3g.40gb", "llama", "acme", 3, 27.57 / 49),
        ("2", "2g.20gb", "mistral", "beta", 2, 14.18 / 49),
        ("3", "1g.10gb", "qwen", "gamma", 1, 3.66 / 49),
        (null, null, null, null, 1, 3.59 / 49),
    ];

    // Node energy 700 W × 3,600 s = 2,520,000 J by slices: 1,080,000 / 720,000 / 360,000 / 360,000 J.
    // Facility = (GPU + node) × 1.25, priced at $0.10 per kWh. The rows, worked out:
    //   3g: 0.480234834 hardware + (850,731.43 + 1,080,000) × 1.25 / 3.6e6 × 0.10 = 0.067039286 → $0.547274119
    //   2g: 0.320156556 + 0.040192857 → $0.360349413
    //   1g: 0.160078278 + 0.016421429 → $0.176499706
    //   free: 0.160078278 + 0.016346429 → $0.176424706
    //   GPU: 1.120547945 + (1,512,000 + 2,520,000) × 1.25 / 3.6e6 × 0.10 = 0.14 → $1.260547945
    private static double Expected(double slices, double energyShare) =>
        (slices / 7 * (CapexHourly + OpexHourly)) + (((GpuJoules * energyShare) + (2_520_000.0 * slices / 7)) * 1.25 / 3.6e6 * 0.10);

    private ITimeSeriesStore? _store;

    protected abstract Task<TestStore> OpenAsync();

    private TestStore? _test;

    public async Task InitializeAsync()
    {
        _test = await OpenAsync();
        _store = _test.Store;
    }

    public async Task DisposeAsync() => await _test!.DisposeAsync();

    [Fact]
    public async Task MigH100_ThreeInstancesAndAFreeSlice_CostIdleAndApiRowsEqualTheHandComputation()
    {
        ITimeSeriesStore store = _store!;
        await WriteAsync(store, [("1", "3g.40gb", "llama-0", "acme", "llama", 0.8), ("2", "2g.20gb", "mistral-0", "beta", "mistral", 0.5), ("3", "1g.10gb", "qwen-0", "gamma", "qwen", 0.01)]);
        PricingFile pricing = PricingFileReader.Parse(PricingJson);
        await new GpuRollupService(store, pricing, NullLogger<GpuRollupService>.Instance).RollupAsync(T0.AddMinutes(-5), T0.AddMinutes(65));
        var service = new CostWindowService(store, pricing, new AnalyticsWindowOptions(), NullLogger<CostWindowService>.Instance);
        WindowCostReport report = await service.ComputeAndWriteAsync(T0);

        // The raw samples give the same window as the rollup.
        WindowCostReport raw = await new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance).ComputeAsync(T0);
        Precision.Close(report.CostUsd, raw.CostUsd);
        Precision.Close(report.Idle.Sum(i => i.IdleCostUsd), raw.Idle.Sum(i => i.IdleCostUsd));

        Assert.Equal(4, report.Costs.Count);
        foreach ((string? instance, string? profile, string? model, string? tenant, double slices, double share) in Parts)
        {
            CostWindow row = Assert.Single(report.Costs, c => c.MigInstance == instance);
            Assert.Equal(profile, row.MigProfile);
            Assert.Equal(model, row.Model);
            Assert.Equal(tenant, row.Tenant);
            Assert.Equal(AttributionBases.MigSlices, row.AttributionBasis);
            Precision.Close(slices / 7, row.GpuHours);
            Precision.Close(slices / 7 * CapexHourly, row.CapexUsd);
            Precision.Close(slices / 7 * OpexHourly, row.OpexUsd);
            Precision.Close(GpuJoules * share, row.GpuEnergyJoules);
            Precision.Close(2_520_000.0 * slices / 7, row.NodeEnergyJoules);
            Precision.Close(Expected(slices, share), row.CostUsd);
        }

        Precision.Close(0.547274119373777, report.Costs.Single(c => c.MigInstance == "1").CostUsd);
        Precision.Close(1.2605479452054795, report.CostUsd); // every dollar of the GPU, attributed or unallocated
        Precision.Close(1.0, report.Costs.Sum(c => c.GpuHours));

        // Idle: instance 3 all hour (1 % < 5 % for an hour) and the free slice all hour: 2/7 GPU-hours,
        // $0.176499706 + $0.176424706 = $0.352924413; facility energy (112,937.14 + 360,000 + 110,777.14 + 360,000) × 1.25.
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(2.0 / 7, idle.IdleGpuHours);
        Precision.Close(Expected(1, 3.66 / 49) + Expected(1, 3.59 / 49), idle.IdleCostUsd);
        Precision.Close(0.352924412915851, idle.IdleCostUsd);
        Precision.Close(((GpuJoules * 7.25 / 49) + 720_000) * 1.25, idle.IdleEnergyJoules);

        // The API's cost rows grouped by GPU: one per instance and one for the free slices, with instance, profile, basis.
        var reader = new AnalyticsApiReader(store, Options.Create(new AnalyticsApiOptions()), Options.Create(new AnalyticsWindowOptions()));
        ApiOutcome<ApiResponse<CostRow>> answer = await reader.CostAsync(new ApiQuery(T0, T0.AddHours(1), null, ["model", "gpu"]), new ApiCaller("admin", null), CancellationToken.None);
        Assert.Null(answer.Problem);
        IReadOnlyList<CostRow> rows = answer.Response!.Rows;
        Assert.Equal(4, rows.Count);
        foreach ((string? instance, string? profile, string? model, _, double slices, double share) in Parts)
        {
            CostRow row = Assert.Single(rows, r => r.MigInstance == instance);
            Assert.Equal("GPU-MIG-H100", row.Gpu);
            Assert.Equal(profile, row.MigProfile);
            Assert.Equal(model, row.Model);
            Assert.Equal(AttributionBases.MigSlices, row.AttributionBasis);
            Precision.Close(Expected(slices, share), row.CostUsd);
        }

        Precision.Close(1.2605479452054795, answer.Response.Totals!.CostUsd);

        // Grouped by basis, the whole GPU is one mig_slices row.
        ApiOutcome<ApiResponse<CostRow>> byBasis = await reader.CostAsync(new ApiQuery(T0, T0.AddHours(1), null, [Tags.AttributionBasis]), new ApiCaller("admin", null), CancellationToken.None);
        CostRow basisRow = Assert.Single(byBasis.Response!.Rows);
        Assert.Equal(AttributionBases.MigSlices, basisRow.AttributionBasis);
        Precision.Close(1.2605479452054795, basisRow.CostUsd);
    }

    [Fact]
    public async Task MigH100_AProfileTheTableDoesNotKnow_InstancesShareEquallyWithTheBasisAndAWarning()
    {
        ITimeSeriesStore store = _store!;
        await WriteAsync(store, [("1", "3g.40gb", "llama-0", "acme", "llama", 0.8), ("2", "5c.odd", "mistral-0", "beta", "mistral", 0.2)]);
        var log = new CapturedLog();
        using var factory = new LoggerFactory([log]);
        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, factory.CreateLogger<CostWindowService>());
        WindowCostReport report = await service.ComputeAsync(T0);

        // Two instances of one slice each out of 2 (no free slices): hardware and node power half each. Energy by the
        // MIG rule on those slices: B = (0.8 + 0.2) / 2 = 0.5; llama 0.8/2 + 0.5 × 1/2 = 0.65 E = 982,800 J, mistral
        // 0.2/2 + 0.25 = 0.35 E = 529,200 J. Costs: 0.560274 + (982,800 + 1,260,000) × 1.25 / 3.6e6 × 0.10 = $0.638149
        // and 0.560274 + (529,200 + 1,260,000) × 1.25 / 3.6e6 × 0.10 = $0.622399.
        Assert.Equal(2, report.Costs.Count);
        Assert.All(report.Costs, c => Assert.Equal(AttributionBases.MigEqual, c.AttributionBasis));
        Assert.All(report.Costs, c => Precision.Close(0.5, c.GpuHours));
        Precision.Close((0.5 * (CapexHourly + OpexHourly)) + ((982_800 + 1_260_000) * 1.25 / 3.6e6 * 0.10), report.Costs.Single(c => c.MigInstance == "1").CostUsd);
        Precision.Close((0.5 * (CapexHourly + OpexHourly)) + ((529_200 + 1_260_000) * 1.25 / 3.6e6 * 0.10), report.Costs.Single(c => c.MigInstance == "2").CostUsd);
        Precision.Close(1.2605479452054795, report.CostUsd);
        Assert.Contains(log.Lines, l => l.Contains("GPU-MIG-H100", StringComparison.Ordinal) && l.Contains("5c.odd", StringComparison.Ordinal) && l.Contains("mig_equal", StringComparison.Ordinal));
    }

    /// <summary>Samples every 10 s from 09:55 to 11:05: the physical GPU's power, each instance's activity and pod.</summary>
    private static async Task WriteAsync(ITimeSeriesStore store, (string Id, string Profile, string Pod, string Namespace, string Model, double Activity)[] instances)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            new GpuSample { Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-MIG-H100", GpuModel = "H100", Pool = "inference", PowerWatts = 420 }.WriteTo(writer);
            foreach ((string id, string profile, string pod, string ns, string model, double activity) in instances)
            {
                new GpuSample
                {
                    Time = t, Node = "node-a", GpuIndex = 0, GpuUuid = "GPU-MIG-H100", GpuModel = "H100", Pool = "inference",
                    MigInstance = id, MigProfile = profile, Pod = pod, Namespace = ns, ServedModel = model, GraphicsEngineActivityRatio = activity,
                }.WriteTo(writer);
            }
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }
}

/// <summary>The MIG GPU on the embedded store.</summary>
public sealed class MigGpuWindowEmbeddedTests : MigGpuWindowTests
{
    protected override Task<TestStore> OpenAsync() => TestStore.OpenAsync(StoreBackend.Embedded);
}

/// <summary>The MIG GPU on a real InfluxDB 1.x.</summary>
public sealed class MigGpuWindowInfluxDbTests : MigGpuWindowTests
{
    protected override Task<TestStore> OpenAsync() => TestStore.OpenAsync(StoreBackend.InfluxDb);
}
