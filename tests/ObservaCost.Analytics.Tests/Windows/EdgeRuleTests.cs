using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>
/// The edge rules of idle and energy (issue 10, items 1–4), each on one GPU worked out by hand, read from the raw
/// samples and from the rollup alike. Pricing: a rented GPU at $1/h, energy billed separately at $0.10/kWh flat,
/// PUE 1, no node power; idle below 5 % for at least 5 minutes; samples every 10 s unless stated.
/// </summary>
public sealed class EdgeRuleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private const string Pricing = """
        {
          "energy": { "pue": 1.0, "tariff": { "usdPerKilowattHour": 0.10, "timeZone": "UTC" } },
          "default": { "rented": { "usdPerGpuHour": 1.0, "energyIncluded": false } },
          "idle": { "utilizationPercent": 5, "minimumDurationSeconds": 300 }
        }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-edges-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

    public Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store!.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Item 1: 2 % until 10:30:00, 70 % from then on (60 W, then 300 W), samples 09:50–11:10.</summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task BusyIdleChange_AtTheChange_IdleEndsAtTheFirstBusySample(GpuReadingSource source)
    {
        await WriteAsync(T0.AddMinutes(-10), T0.AddMinutes(70), t => t < T0.AddMinutes(30) ? (60, 2) : (300, 70));

        WindowCostReport report = await ComputeAsync(source, T0);

        // Idle from the first sample (09:50, before the window) until the first busy sample, 10:30:00 — not 10:30:30:
        // 0.5 GPU-hour in the window. Its energy: 60 W × 1,790 s (10:00:00–10:29:50) = 107,400 J, plus the ramp
        // 10:29:50–10:30:00 from 60 to 300 W, (60 + 300) / 2 × 10 = 1,800 J → 109,200 J.
        // Idle $ = 0.5 h × $1 + 109,200 J / 3.6e6 × $0.10 = 0.5 + 0.0030333… = 0.50303333…
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(0.5, idle.IdleGpuHours);
        Precision.Close(109_200, idle.IdleEnergyJoules);
        Precision.Close(0.5 + (109_200 / 3.6e6 * 0.10), idle.IdleCostUsd);

        // The hour's energy: 109,200 J + 300 W × 1,800 s (10:30:00–11:00:00) = 649,200 J; $1 + 649,200 / 3.6e6 × $0.10.
        Precision.Close(649_200, report.Costs.Sum(c => c.GpuEnergyJoules));
        Precision.Close(1 + (649_200 / 3.6e6 * 0.10), report.CostUsd);
    }

    /// <summary>
    /// Item 1 inside a minute: 2 % (60 W) up to the sample at 10:30:30, 70 % (300 W) from 10:30:40 on, samples
    /// 09:50–11:10. The minute 10:30's mean is (4 × 2 + 2 × 70) / 6 = 24.67 %, above the threshold, yet it holds 40 s
    /// of idle time: the rule is on the samples, not on minute means.
    /// </summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task IdleToBusyInsideAMinute_IdleEndsAtTheFirstBusySample_ThoughTheMinuteMeanIsBusy(GpuReadingSource source)
    {
        await WriteAsync(T0.AddMinutes(-10), T0.AddMinutes(70), t => t <= T0.AddSeconds((30 * 60) + 30) ? (60, 2) : (300, 70));

        WindowCostReport report = await ComputeAsync(source, T0);

        // Idle 10:00:00–10:30:40 in the window = 1,840 s = 0.511111… h. Its energy: 60 W × 1,830 s (10:00:00–10:30:30)
        // = 109,800 J + the ramp 10:30:30–10:30:40, (60 + 300) / 2 × 10 = 1,800 J → 111,600 J.
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(1_840 / 3_600.0, idle.IdleGpuHours);
        Precision.Close(111_600, idle.IdleEnergyJoules);
        Precision.Close((1_840 / 3_600.0) + (111_600 / 3.6e6 * 0.10), idle.IdleCostUsd);

        // The hour's energy: 111,600 J + 300 W × 1,760 s (10:30:40–11:00:00) = 639,600 J.
        Precision.Close(639_600, report.Costs.Sum(c => c.GpuEnergyJoules));
        Precision.Close(1 + (639_600 / 3.6e6 * 0.10), report.CostUsd);
    }

    /// <summary>
    /// The other way round inside a minute: 70 % (300 W) up to the sample at 10:30:30, 2 % (60 W) from 10:30:40 on,
    /// samples 09:50–11:10. The minute 10:30's mean is (4 × 70 + 2 × 2) / 6 = 47.33 %; idle starts at 10:30:40.
    /// </summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task BusyToIdleInsideAMinute_IdleStartsAtTheFirstIdleSample(GpuReadingSource source)
    {
        await WriteAsync(T0.AddMinutes(-10), T0.AddMinutes(70), t => t <= T0.AddSeconds((30 * 60) + 30) ? (300, 70) : (60, 2));

        WindowCostReport report = await ComputeAsync(source, T0);

        // The run 10:30:40–11:09:50 (39 min ≥ 5) clipped to the window: 10:30:40–11:00:00 = 1,760 s = 0.488888… h,
        // energy 60 W × 1,760 s = 105,600 J.
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(1_760 / 3_600.0, idle.IdleGpuHours);
        Precision.Close(105_600, idle.IdleEnergyJoules);
        Precision.Close((1_760 / 3_600.0) + (105_600 / 3.6e6 * 0.10), idle.IdleCostUsd);

        // The hour's energy: 300 W × 1,830 s (10:00:00–10:30:30) = 549,000 J + the ramp (300 + 60) / 2 × 10 = 1,800 J
        // + 105,600 J = 656,400 J.
        Precision.Close(656_400, report.Costs.Sum(c => c.GpuEnergyJoules));
        Precision.Close(1 + (656_400 / 3.6e6 * 0.10), report.CostUsd);
    }

    /// <summary>Item 2: idle (2 %) from 09:56:00 to 10:02:00, busy (70 %) otherwise, samples 08:50–11:10.</summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task IdleRunAcrossTheWindowEdge_JudgedWhole_ClippedToEachWindow(GpuReadingSource source)
    {
        await WriteAsync(T0.AddMinutes(-70), T0.AddMinutes(70), t => t >= T0.AddMinutes(-4) && t < T0.AddMinutes(2) ? (50, 2) : (250, 70));

        // The run is 6 minutes (09:56:00 to the first busy sample at 10:02:00) ≥ 5: it qualifies whole, and is
        // clipped to 4 minutes (09:56–10:00) in the 09:00 window and 2 minutes (10:00–10:02) in the 10:00 window.
        WindowCostReport nine = await ComputeAsync(source, T0.AddHours(-1));
        WindowCostReport ten = await ComputeAsync(source, T0);
        Precision.Close(4.0 / 60, Assert.Single(nine.Idle).IdleGpuHours);
        Precision.Close(2.0 / 60, Assert.Single(ten.Idle).IdleGpuHours);

        // Idle energy in the 10:00 window: 50 W × 110 s (10:00:00–10:01:50) + the ramp 10:01:50–10:02:00 from 50 to
        // 250 W, (50 + 250) / 2 × 10 = 1,500 J → 7,000 J. In the 09:00 window: 50 W × 240 s = 12,000 J, less the ramp
        // 09:55:50–09:56:00 which is before the run: 12,000 J.
        Precision.Close(7_000, Assert.Single(ten.Idle).IdleEnergyJoules);
        Precision.Close(12_000, Assert.Single(nine.Idle).IdleEnergyJoules);
    }

    /// <summary>Item 3: telemetry only from 10:00:00 to 10:59:50 (360 samples), 100 W, 2 %.</summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task TelemetryOnlyInsideTheHour_TrapezoidOverTheSampleTimes_LastSampleNotHeld(GpuReadingSource source)
    {
        await WriteAsync(T0, T0.AddHours(1), _ => (100, 2));

        WindowCostReport report = await ComputeAsync(source, T0);

        // Energy: the trapezoid over the actual sample times, 10:00:00–10:59:50, and nothing after the last sample:
        // 100 W × 3,590 s = 359,000 J (−0.28 % against a full hour, where minute means held from mid-minute lost 1.67 %).
        Precision.Close(359_000, report.Costs.Sum(c => c.GpuEnergyJoules));

        // Idle with the same rule: from the first sample to the last, 3,590 s = 0.99722… h; energy 359,000 J.
        // The GPU is charged for the whole hour: $1 + 359,000 / 3.6e6 × $0.10 = 1.0099722…
        IdleWindow idle = Assert.Single(report.Idle);
        Precision.Close(3_590.0 / 3_600, idle.IdleGpuHours);
        Precision.Close(359_000, idle.IdleEnergyJoules);
        Precision.Close(1 + (359_000 / 3.6e6 * 0.10), report.CostUsd);
    }

    /// <summary>Item 4: an energy counter, 100 W until 10:00:00, 400 W until 11:00:00, 100 W after; samples 09:50–11:10.</summary>
    [Theory]
    [InlineData(GpuReadingSource.Raw)]
    [InlineData(GpuReadingSource.Rollup)]
    public async Task EnergyCounter_ReadingsKeepTheirOwnTimes_NoEnergyShiftedToTheNextWindow(GpuReadingSource source)
    {
        DateTimeOffset first = T0.AddMinutes(-10);
        double Counter(DateTimeOffset t)
        {
            // 7,000,000 J at 09:50, then the integral of the power above.
            double before = Math.Min((t - first).TotalSeconds, 600) * 100;
            double during = Math.Clamp((t - T0).TotalSeconds, 0, 3_600) * 400;
            double after = Math.Max((t - T0.AddHours(1)).TotalSeconds, 0) * 100;
            return 7_000_000 + before + during + after;
        }

        await WriteAsync(first, T0.AddMinutes(70), t => (t >= T0 && t < T0.AddHours(1) ? 400 : 100, 70), Counter);

        WindowCostReport report = await ComputeAsync(source, T0);

        // The counter at each reading's own time: 400 W × 3,600 s = 1,440,000 J in the window. Readings placed at the
        // end of their minute would have given 09:59:50–10:59:50: 100 × 10 + 400 × 3,590 = 1,437,000 J.
        Precision.Close(1_440_000, report.Costs.Sum(c => c.GpuEnergyJoules));
        Precision.Close(1 + (1_440_000 / 3.6e6 * 0.10), report.CostUsd);
    }

    private async Task WriteAsync(DateTimeOffset from, DateTimeOffset to, Func<DateTimeOffset, (double PowerWatts, double UtilizationPercent)> reading, Func<DateTimeOffset, double>? counter = null)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = from; t < to; t = t.AddSeconds(10))
        {
            (double power, double utilization) = reading(t);
            new GpuSample
            {
                Time = t, Node = "n1", GpuIndex = 0, GpuUuid = "GPU-1", GpuModel = "H100", Pool = "chat",
                PowerWatts = power, UtilizationPercent = utilization, EnergyJoules = counter?.Invoke(t),
            }.WriteTo(writer);
        }

        Assert.Equal(0, (await _store!.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }

    private async Task<WindowCostReport> ComputeAsync(GpuReadingSource source, DateTimeOffset windowStart)
    {
        PricingFile pricing = PricingFileReader.Parse(Pricing);
        var service = new CostWindowService(_store!, pricing, new AnalyticsWindowOptions { GpuSource = source }, NullLogger<CostWindowService>.Instance);
        if (source == GpuReadingSource.Rollup)
        {
            await new GpuRollupService(_store!, pricing, NullLogger<GpuRollupService>.Instance)
                .RollupAsync(windowStart - service.LookAround, windowStart.AddHours(1) + service.LookAround);
        }

        return await service.ComputeAsync(windowStart);
    }
}
