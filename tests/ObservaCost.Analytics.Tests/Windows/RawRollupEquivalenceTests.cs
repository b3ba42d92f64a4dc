using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// The property behind the rollup: on random fleets — busy/idle changes off the minute, utilization between two
/// pools' thresholds, gaps shorter and longer than the gap limit, jittered sample times, counter resets, telemetry
/// starting and stopping inside the windows, an allocation change — every cost and idle figure of two consecutive
/// windows read from the rollup equals the one read from the raw samples, to 1e-9.
/// </summary>
public abstract class RawRollupEquivalenceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private const string Pricing = """
        {
          "energy": { "pue": 1.3, "nodePowerWatts": 300,
                      "tariff": { "usdPerKilowattHour": 0.10, "timeZone": "UTC",
                                  "periods": [ { "name": "peak", "usdPerKilowattHour": 0.25, "startHour": 10, "endHour": 11, "days": ["Fri"] } ] } },
          "gpus": { "H100": { "owned": { "purchaseUsd": 30000, "salvageUsd": 3000, "depreciationYears": 4, "opexUsdPerGpuHour": 0.35 } } },
          "default": { "rented": { "usdPerGpuHour": 0.8, "energyIncluded": false } },
          "poolModels": { "batch": "mistral" },
          "idle": { "utilizationPercent": 5, "minimumDurationSeconds": 300,
                    "pools": { "batch": { "utilizationPercent": 10, "minimumDurationSeconds": 120 } } }
        }
        """;

    private ITimeSeriesStore? _store;

    protected abstract Task<ITimeSeriesStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public abstract Task DisposeAsync();

    protected async Task AssertRawEqualsRollupAsync(int seed)
    {
        ITimeSeriesStore store = _store!;
        await WriteRandomFleetAsync(store, new Random(seed));
        PricingFile pricing = PricingFileReader.Parse(Pricing);
        var raw = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        var rollup = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Rollup }, NullLogger<CostWindowService>.Instance);
        await new GpuRollupService(store, pricing, NullLogger<GpuRollupService>.Instance)
            .RollupAsync(T0.AddHours(-1) - rollup.LookAround, T0.AddHours(1) + rollup.LookAround);

        double idleHours = 0;
        foreach (DateTimeOffset window in (DateTimeOffset[])[T0.AddHours(-1), T0])
        {
            WindowCostReport fromRaw = await raw.ComputeAsync(window);
            WindowCostReport fromRollup = await rollup.ComputeAsync(window);
            Assert.Equal(fromRaw.GpuCount, fromRollup.GpuCount);
            Assert.Equal(Keys(fromRaw.Costs), Keys(fromRollup.Costs));
            foreach ((CostWindow r, CostWindow u) in Sorted(fromRaw.Costs).Zip(Sorted(fromRollup.Costs)))
            {
                Precision.Close(r.GpuHours, u.GpuHours);
                Precision.Close(r.GpuEnergyJoules, u.GpuEnergyJoules);
                Precision.Close(r.FacilityEnergyJoules, u.FacilityEnergyJoules);
                Precision.Close(r.EnergyCostUsd, u.EnergyCostUsd);
                Precision.Close(r.UtilizedGpuHours, u.UtilizedGpuHours);
                Precision.Close(r.CostUsd, u.CostUsd);
            }

            Assert.Equal(fromRaw.Idle.Count, fromRollup.Idle.Count);
            foreach ((IdleWindow r, IdleWindow u) in fromRaw.Idle.OrderBy(i => i.Node + i.Pool, StringComparer.Ordinal).Zip(fromRollup.Idle.OrderBy(i => i.Node + i.Pool, StringComparer.Ordinal)))
            {
                Precision.Close(r.IdleGpuHours, u.IdleGpuHours);
                Precision.Close(r.IdleEnergyJoules, u.IdleEnergyJoules);
                Precision.Close(r.IdleCostUsd, u.IdleCostUsd);
            }

            idleHours += fromRaw.Idle.Sum(i => i.IdleGpuHours);
        }

        // The fleet has idle runs to compare (not a vacuous equality).
        Assert.True(idleHours > 0.1, $"only {idleHours} idle GPU-hours");
    }

    private static IEnumerable<CostWindow> Sorted(IReadOnlyList<CostWindow> rows) =>
        rows.OrderBy(c => string.Join('|', c.Model, c.Tenant, c.Pool, c.Node, c.GpuModel, c.MigInstance, c.AttributionBasis), StringComparer.Ordinal);

    private static string[] Keys(IReadOnlyList<CostWindow> rows) => [.. Sorted(rows).Select(c => string.Join('|', c.Model, c.Tenant, c.Pool, c.Node, c.GpuModel, c.MigInstance, c.AttributionBasis))];

    /// <summary>Six GPUs on three nodes, 09:00–11:00 at most, each with its own coverage, step, gaps and idle runs.</summary>
    private static async Task WriteRandomFleetAsync(ITimeSeriesStore store, Random random)
    {
        using var writer = new LineProtocolWriter();
        for (int g = 0; g < 6; g++)
        {
            string pool = g % 2 == 0 ? "chat" : "batch";
            bool counter = g % 3 != 0;
            DateTimeOffset start = T0.AddHours(-1).AddMinutes(-5).AddSeconds(random.Next(0, 60 * 40));
            DateTimeOffset end = T0.AddMinutes(10).AddSeconds(random.Next(0, 60 * 60));
            TimeSpan step = TimeSpan.FromSeconds(g == 5 ? 15 : 10);
            var gaps = new List<(DateTimeOffset From, DateTimeOffset To)>();
            for (int k = 0; k < 4; k++)
            {
                DateTimeOffset gapStart = start.AddSeconds(random.Next(0, (int)(end - start).TotalSeconds));
                gaps.Add((gapStart, gapStart.AddSeconds(random.Next(25, 300))));
            }

            double utilization = 50, energy = random.Next(0, 5_000_000);
            DateTimeOffset runEnd = start, previous = start;
            bool idle = random.Next(2) == 0;
            double? power = null;
            for (DateTimeOffset t = start; t < end; t = t.Add(step).AddMilliseconds(random.Next(-1_500, 1_500)))
            {
                if (gaps.Any(gap => t >= gap.From && t < gap.To))
                {
                    continue;
                }

                if (t >= runEnd)
                {
                    idle = !idle;
                    runEnd = t.AddSeconds(random.Next(20, 12 * 60));
                }

                utilization = idle ? random.NextDouble() * 12 : 15 + (random.NextDouble() * 85);
                double watts = 60 + (utilization * 5) + random.NextDouble() * 10;
                if (counter)
                {
                    energy += power is double p ? (p + watts) / 2 * (t - previous).TotalSeconds : 0;
                    if (random.Next(150) == 0)
                    {
                        energy = random.Next(0, 1000); // a driver reload resets the counter
                    }
                }

                bool allocated = g != 3 || t < T0.AddMinutes(-30) || t >= T0.AddMinutes(20);
                new GpuSample
                {
                    Time = t, Node = "node-" + (g / 2), GpuIndex = g % 2, GpuUuid = "GPU-" + g, GpuModel = g < 4 ? "H100" : "L4", Pool = pool,
                    Namespace = allocated && g != 4 ? "team-" + (g % 3) : null, Pod = allocated && g != 4 ? "pod-" + g : null,
                    ServedModel = allocated && pool == "chat" ? "llama" : null,
                    PowerWatts = watts, UtilizationPercent = utilization, EnergyJoules = counter ? energy : null,
                }.WriteTo(writer);
                power = watts;
                previous = t;
            }
        }

        RandomDividedGpus.WriteMig(writer, random, "GPU-MIG", "node-mig", "chat", T0.AddHours(-1).AddMinutes(-5), T0.AddMinutes(70), jitter: true);
        Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }
}

/// <summary>The property on the embedded store.</summary>
public sealed class RawRollupEquivalenceSqliteTests : RawRollupEquivalenceTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-equivalence-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public Task RandomFleet_RollupSource_EqualsRawSource(int seed) => AssertRawEqualsRollupAsync(seed);

    protected override Task<ITimeSeriesStore> CreateStoreAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return Task.FromResult<ITimeSeriesStore>(_store);
    }

    public override async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>The property on a real InfluxDB 1.x.</summary>
public sealed class RawRollupEquivalenceInfluxDbTests : RawRollupEquivalenceTests
{
    private InfluxDbServer? _influx;
    private HttpClient? _http;

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public Task RandomFleet_RollupSource_EqualsRawSource(int seed) => AssertRawEqualsRollupAsync(seed);

    protected override async Task<ITimeSeriesStore> CreateStoreAsync()
    {
        _influx = await InfluxDbServer.StartAsync();
        _http = new HttpClient();
        return new InfluxDbStore(_http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
    }

    public override async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }
}
