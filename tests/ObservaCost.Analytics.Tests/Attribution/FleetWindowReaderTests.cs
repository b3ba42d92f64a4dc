using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Attribution;

/// <summary>GPU samples written through the schema into the embedded store, read back per GPU and priced.</summary>
public sealed class FleetWindowReaderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-fleet-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            bool allocated = t < T0.AddMinutes(30);
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-A", GpuModel = "NVIDIA H100 80GB HBM3", Pool = "p",
                Pod = allocated ? "vllm-0" : null, Namespace = allocated ? "acme" : null, ServedModel = allocated ? "llama" : null,
                PowerWatts = 400, UtilizationPercent = allocated ? 90 : 2, EnergyJoules = 1e6 + (400 * (t - T0).TotalSeconds),
            }.WriteTo(writer);
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 1, GpuUuid = "GPU-B", GpuModel = "NVIDIA H100 80GB HBM3", Pool = "p",
                PowerWatts = 70, UtilizationPercent = 0,
            }.WriteTo(writer);
        }

        WriteResult written = await _store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Read_TenantBoundSamples_AreTheirTenantsGpus_WhateverThePodOrNamespace_FleetReadingsUntouched()
    {
        // Bound to tenant "beta" at ingest: GPU-A again (the fleet's GPU, no pod, 700 W) and GPU-C (namespace acme).
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            new GpuSample { Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-A", Pool = "p", Tenant = "beta", PowerWatts = 700 }.WriteTo(writer);
            new GpuSample { Time = t, Node = "n1", GpuIndex = 2, GpuUuid = "GPU-C", Pool = "p", Tenant = "beta", Pod = "x", Namespace = "acme", ServedModel = "llama", PowerWatts = 300 }.WriteTo(writer);
        }

        await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        IReadOnlyList<GpuWindowInput> gpus = await FleetWindowReader.ReadAsync(_store, T0, T0.AddHours(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), _ => null);

        // Four GPUs: the fleet's GPU-A and GPU-B as before, beta's GPU-A and GPU-C.
        Assert.Equal(4, gpus.Count);
        GpuWindowInput fleetA = gpus.Single(g => g.GpuUuid == "GPU-A" && g.BoundTenant is null);
        Assert.Equal(("llama", "acme"), (Assert.Single(fleetA.Allocations).Model, fleetA.Allocations[0].Tenant));
        Assert.All(fleetA.PowerWatts, p => Assert.Equal(400, p.Value));

        // beta's GPU-A: no pod, yet all 70 minutes [T0 − 5 min, T0 + 65 min) are beta's (no served model, none for the pool).
        GpuWindowInput betaA = gpus.Single(g => g.GpuUuid == "GPU-A" && g.BoundTenant == "beta");
        AllocationSpan span = Assert.Single(betaA.Allocations);
        Assert.Equal((null, "beta", T0.AddMinutes(-5), T0.AddMinutes(65)), (span.Model, span.Tenant, span.Start, span.End));
        // Every raw sample, 70 minutes × 6 (issue 10: samples at their own times, no longer minute means).
        Assert.Equal(420, betaA.PowerWatts.Count);
        Assert.All(betaA.PowerWatts, p => Assert.Equal(700, p.Value));

        // GPU-C names namespace acme, but its tenant tag says beta: beta's.
        GpuWindowInput c = gpus.Single(g => g.GpuUuid == "GPU-C");
        Assert.Equal(("llama", "beta"), (Assert.Single(c.Allocations).Model, c.Allocations[0].Tenant));
    }

    [Fact]
    public async Task Read_GivesAllocationSpansAndMinuteSamples_ThatPriceToTheWholeFleet()
    {
        IReadOnlyList<GpuWindowInput> gpus = await FleetWindowReader.ReadAsync(_store!, T0, T0.AddHours(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), _ => null);

        GpuWindowInput a = gpus.Single(g => g.GpuUuid == "GPU-A");
        AllocationSpan span = Assert.Single(a.Allocations);
        Assert.Equal(("llama", "acme"), (span.Model, span.Tenant));
        Assert.Equal(T0.AddMinutes(-5), span.Start);
        Assert.Equal(T0.AddMinutes(30), span.End);
        Assert.Equal(420, a.PowerWatts.Count); // 70 minutes × 6 raw samples, each at its own time
        Assert.All(a.PowerWatts, p => Assert.Equal(400, p.Value));
        Assert.Equal(420, a.EnergyCounterJoules.Count);
        GpuWindowInput b = gpus.Single(g => g.GpuUuid == "GPU-B");
        Assert.Empty(b.Allocations);
        Assert.Equal("p", b.Pool);

        var price = new PriceEntry("H100", new OwnedHardware(30_000, 3_000, 4, 0.5), null);
        var energy = new EnergyPricing(1.2, null, EnergyTariff.Flat(0.10));
        TariffSchedule schedule = energy.Tariff.ScheduleFor(T0, T0.AddHours(1));
        var priced = gpus.Select(g => new GpuWindowResult(g, GpuCostCalculator.Compute(g, T0, T0.AddHours(1), price, energy, schedule, IdleThresholds.Default, TimeSpan.FromMinutes(2)))).ToList();
        (IReadOnlyList<CostWindow> costs, IReadOnlyList<IdleWindow> idle) = FleetCostAggregator.Aggregate(T0, TimeSpan.FromHours(1), priced, [new TokenUsage("llama", "acme", 900_000, 100_000, 500)]);

        // GPU-A: half an hour for llama/acme, half unallocated; GPU-B: the whole hour unallocated.
        CostWindow llama = costs.Single(c => c.Model == "llama");
        Precision.Close(0.5, llama.GpuHours);
        // GPU-A's energy from its counter: 400 W for 30 min = 720 kJ; × 1.2 = 864 kJ = 0.24 kWh → $0.024.
        Precision.Close(720_000, llama.GpuEnergyJoules);
        double llamaUsd = (27_000.0 / 35_040 / 2) + 0.25 + 0.024;
        Precision.Close(llamaUsd, llama.CostUsd);
        Precision.Close(llamaUsd, llama.CostPerMillionTokensUsd!.Value);
        Precision.Close(1_000_000 / 0.24, llama.TokensPerKilowattHour!.Value);
        Precision.Close(2.0, costs.Sum(c => c.GpuHours));

        // Idle: GPU-B all hour; GPU-A from its first 2 % sample, 10:30:00, on (issue 10: formerly from the 10:30
        // bucket's middle, 10:30:30, which made 1 + 29.5 / 60).
        IdleWindow pool = Assert.Single(idle);
        Precision.Close(1 + (30.0 / 60), pool.IdleGpuHours);
    }
}
