using System.Globalization;
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
/// A fleet shaped like the cost-window benchmark's (pods starting and ending on whole minutes, eight GPUs a node, a
/// margin of samples before and after the window), rolled up minute by minute as the rollup job runs: the cost rows of
/// each GPU read from the rollup are the ones read from the raw samples, and both are the allocated and unallocated
/// spans worked out by hand.
/// </summary>
public abstract class HarnessFleetRowsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private const int Gpus = 24;

    private ITimeSeriesStore? _store;

    protected abstract Task<ITimeSeriesStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public abstract Task DisposeAsync();

    /// <summary>Gives the store time to do what it does when no write comes for a while.</summary>
    protected virtual Task LetStoreSettleAsync() => Task.CompletedTask;

    protected async Task AssertRowsPerGpuAsync()
    {
        ITimeSeriesStore store = _store!;
        PricingFile pricing = PricingFileReader.Load(Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"));
        var raw = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        var rollup = new CostWindowService(store, pricing, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Rollup }, NullLogger<CostWindowService>.Instance);
        await WriteFleetAsync(store, TimeSpan.FromMinutes(5));
        await LetStoreSettleAsync();
        var rollupJob = new GpuRollupService(store, pricing, NullLogger<GpuRollupService>.Instance);
        for (DateTimeOffset minute = T0 - rollup.LookAround; minute < T0.AddHours(1) + rollup.LookAround; minute = minute.AddMinutes(1))
        {
            if (minute == T0.AddHours(1))
            {
                // Every pod has ended: the store may move what it holds in memory to disk before the next minutes.
                await LetStoreSettleAsync();
            }

            await rollupJob.RollupAsync(minute, minute.AddMinutes(1));
        }

        string[] expected = [.. Enumerable.Range(0, Gpus).SelectMany(ExpectedRows).Order(StringComparer.Ordinal)];
        WindowCostReport fromRaw = await raw.ComputeAsync(T0);
        WindowCostReport fromRollup = await rollup.ComputeAsync(T0);
        Assert.Equal(Gpus, fromRaw.GpuCount);
        Assert.Equal(Gpus, fromRollup.GpuCount);
        Assert.Equal(expected, Rows(fromRaw.Costs));
        Assert.Equal(expected, Rows(fromRollup.Costs));
    }

    /// <summary>Each cost row as GPU, tenant and GPU-minutes.</summary>
    private static string[] Rows(IReadOnlyList<CostWindow> costs) =>
        [.. costs.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.GpuUuid}|{c.Tenant}|{c.GpuHours * 60:F6}")).Order(StringComparer.Ordinal)];

    private static (bool Held, int FromMinute, int ToMinute) Pod(int g) => (g % 6 != 0, ((g * 7) % 15) - 5, 45 + ((g * 11) % 26));

    private static IEnumerable<string> ExpectedRows(int g)
    {
        (bool held, int from, int to) = Pod(g);
        int allocatedMinutes = held ? Math.Max(0, Math.Min(to, 60) - Math.Max(from, 0)) : 0;
        if (allocatedMinutes > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"GPU-{g}|team-{g / 2 % 5}|{allocatedMinutes:F6}");
        }

        if (allocatedMinutes < 60)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"GPU-{g}||{60 - allocatedMinutes:F6}");
        }
    }

    private static async Task WriteFleetAsync(ITimeSeriesStore store, TimeSpan margin)
    {
        using var writer = new LineProtocolWriter();
        var energy = new double[Gpus];
        for (DateTimeOffset t = T0 - margin; t < T0.AddHours(1) + margin; t = t.AddSeconds(10))
        {
            int step = (int)((t - T0).TotalSeconds / 10);
            double minute = (t - T0).TotalMinutes;
            for (int g = 0; g < Gpus; g++)
            {
                (bool held, int from, int to) = Pod(g);
                bool allocated = held && minute >= from && minute < to;
                double power = allocated ? 250 + (((g * 13) + (step * 7)) % 400 + 400) % 400 : 60 + (((g + step) % 20) + 20) % 20;
                energy[g] += power * 10;
                new GpuSample
                {
                    Time = t, Cluster = "prod", Node = "node-" + (g / 8), GpuIndex = g % 8, GpuUuid = "GPU-" + g,
                    GpuModel = "H100", Pool = g / 8 == 2 ? "batch-spot" : "chat-h100",
                    Namespace = allocated ? "team-" + (g / 2 % 5) : null, Pod = allocated ? "pod-" + (g / 2) : null,
                    ServedModel = allocated && g / 8 != 2 ? "llama" : null,
                    PowerWatts = power, UtilizationPercent = allocated ? 40 + ((((g * 7) + step) % 60) + 60) % 60 : ((step % 3) + 3) % 3,
                    EnergyJoules = 1e9 + (g * 1e6) + energy[g],
                }.WriteTo(writer);
            }
        }

        Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }
}

/// <summary>The benchmark's fleet on the embedded store.</summary>
public sealed class HarnessFleetRowsSqliteTests : HarnessFleetRowsTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-harnessfleet-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    [Fact]
    public Task MinuteByMinuteRollup_GivesEachGpuItsAllocatedAndUnallocatedRows() => AssertRowsPerGpuAsync();

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

/// <summary>The benchmark's fleet on a real InfluxDB 1.x, with chunks small enough that series split over them.</summary>
public sealed class HarnessFleetRowsInfluxDbTests : HarnessFleetRowsTests
{
    private InfluxDbServer? _influx;
    private HttpClient? _http;

    [Fact]
    public Task MinuteByMinuteRollup_GivesEachGpuItsAllocatedAndUnallocatedRows() => AssertRowsPerGpuAsync();

    protected override async Task<ITimeSeriesStore> CreateStoreAsync()
    {
        _influx = await InfluxDbServer.StartAsync();
        _http = new HttpClient();
        return new InfluxDbStore(_http, new InfluxDbOptions { Url = _influx.Url, Database = "observacost", QueryChunkSize = 100 }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
    }

    /// <summary>influxd snapshots a cache that had no write for 10 s (cache-snapshot-write-cold-duration) to a TSM file.</summary>
    protected override Task LetStoreSettleAsync() => Task.Delay(TimeSpan.FromSeconds(13));

    public override async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }
}
