using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Scheduling;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Hosting;

/// <summary>
/// Issue 10's "Done when": one hand-designed hour of a four-GPU fleet pushed through the public surfaces only — GPU
/// samples as line protocol to <c>/write</c>, request logs as NDJSON with OpenAI <c>usage</c> to
/// <c>/api/v1/requests</c> — backfilled, and read from <c>/api/v1/cost</c>, <c>/api/v1/idle</c> and
/// <c>/api/v1/kpis</c>: every figure equals the value worked out by hand below, to 1e-9 relative.
/// </summary>
/// <remarks>
/// <para><b>The hour</b>: 2026-11-23 (a Monday) 10:00:00–11:00:00 UTC. Samples every 10 s on the :00/:10/… grid.</para>
/// <para><b>The fleet</b> (two nodes, two pools):</para>
/// <list type="table">
/// <item>GPU-A1, node-a, pool chat-h100, H100 (owned), pod vllm-0 in namespace llm serving llama: 500 W, 80 % all the time.</item>
/// <item>GPU-A2, node-a, pool chat-h100, H100 (owned), pod vllm-1 in namespace llm serving llama: 600 W, 90 % up to the
/// sample at 10:29:50; from the sample at 10:30:00 on 100 W, 2 % (busy → idle exactly at 10:30:00, inside the minute
/// 10:30 whose 1-minute mean would be 2 %, and half-way through the hour).</item>
/// <item>GPU-B1, node-b, pool batch-spot, L40S (rented), pod batch-0 in namespace team-b serving mistral: 60 % all
/// the time; 300 W from the sample at 10:00:00 to the sample at 10:59:50, 150 W before and after the hour.</item>
/// <item>GPU-B2, node-b, pool batch-spot, L40S (rented), no pod: the idle spare, 60 W, 0 % all the time.</item>
/// </list>
/// <para><b>The requests</b> (all inside the hour, pushed with the fleet's admin token, so the tenant is as sent):
/// llama for tenant <c>acme</c> every 10 s from 10:00:05 (360 × 1,000 prompt + 200 completion tokens) and for tenant
/// <c>globex</c> every 20 s from 10:00:07 (180 × 1,300 + 100); neither is a namespace, so the two llama GPUs in
/// namespace llm are a shared deployment; and llama without a tenant every 30 s from 10:00:01 (120 × 1,800 + 200),
/// the model's remainder. mistral for tenant <c>team-b</c> (its own namespace) every 10 s from 10:00:03
/// (360 × 500 + 500).</para>
/// <para><b>The pricing file</b> (<see cref="TestPricing"/>): H100 owned, (40,000 − 4,960) / (4 × 8,760) = 35,040 /
/// 35,040 = 1.00 $/GPU-h capex + 0.50 opex; pool batch-spot rented at 2.00 $/GPU-h, energy billed separately; PUE
/// 1.25; flat 0.20 $/kWh; node power 200 W per node, shared by its two GPUs = 100 W each; completion weight 3;
/// idle below 5 % for 5 min (the defaults).</para>
/// <para><b>Three variants</b> (<see cref="Telemetry"/>): samples 09:55:00–11:04:50, samples 10:00:00–10:59:50 only,
/// and 09:55:00–11:04:50 with an energy counter (<c>energy_joules</c>). Only energy and idle time differ; the hardware
/// cost, GPU-hours, utilization and tokens are the same in all three.</para>
/// </remarks>
public sealed class FourGpuHourEndToEndTests
{
    /// <summary>What the GPUs sent.</summary>
    public enum Telemetry
    {
        /// <summary>(a) samples every 10 s from 09:55:00 to 11:04:50.</summary>
        Continuous,

        /// <summary>(b) samples every 10 s from 10:00:00 to 10:59:50 only.</summary>
        InsideHourOnly,

        /// <summary>(c) as (a), each sample also carrying the GPU's energy counter <c>energy_joules</c>.</summary>
        EnergyCounters,
    }

    private const double Tolerance = 1e-9;
    private const int Requests = 360 + 180 + 120 + 360;

    private static readonly DateTimeOffset Hour = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private const string TestPricing = """
        {
          "energy": { "pue": 1.25, "nodePowerWatts": 200, "tariff": { "usdPerKilowattHour": 0.20 } },
          "gpus": { "H100": { "owned": { "purchaseUsd": 40000, "salvageUsd": 4960, "depreciationYears": 4, "opexUsdPerGpuHour": 0.50 } } },
          "pools": { "batch-spot": { "rented": { "usdPerGpuHour": 2.00, "commitment": "spot", "energyIncluded": false } } },
          "tokenCostSplit": { "completionTokenWeight": 3 }
        }
        """;

    [Theory]
    [InlineData(Telemetry.Continuous, false)]
    [InlineData(Telemetry.Continuous, true)]
    [InlineData(Telemetry.InsideHourOnly, false)]
    [InlineData(Telemetry.InsideHourOnly, true)]
    [InlineData(Telemetry.EnergyCounters, false)]
    [InlineData(Telemetry.EnergyCounters, true)]
    public async Task FourGpuHour_PushedBackfilledAndRead_EveryFigureAsWorkedOutByHand(Telemetry telemetry, bool onInfluxDb)
    {
        Expected expected = ExpectedFor(telemetry);
        string dir = Path.Combine(Path.GetTempPath(), "observacost-fourgpu-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        string pricing = Path.Combine(dir, "pricing.json");
        await File.WriteAllTextAsync(pricing, TestPricing);
        try
        {
            await using InfluxDbServer? influx = onInfluxDb ? await InfluxDbServer.StartAsync() : null;
            await using HourHost hour = await HourHost.StartAsync(influx, "--Analytics:PricingFile", pricing);
            await hour.PushAndBackfillAsync(telemetry);
            await AssertCostAsync(hour.Host, expected);
            await AssertIdleAsync(hour.Host, expected);
            await AssertKpisAsync(hour.Host, expected);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The same hour (continuous telemetry) priced by the example pricing file the collector ships as pricing.json
    /// (docs/pricing.example.json, named by its appsettings.json), on the embedded store.
    /// </summary>
    [Fact]
    public async Task FourGpuHour_ShippedExamplePricing_CostsTheHourWorkedOutByHand()
    {
        await using HourHost hour = await HourHost.StartAsync(influx: null);
        await hour.PushAndBackfillAsync(Telemetry.Continuous);

        // pricing.example.json: PUE 1.3, node power 800 W per node = 400 W per GPU (two GPUs a node); tariff
        // Europe/Berlin: 10:00–11:00 UTC on Monday 2026-11-23 is 11:00–12:00 CET, inside "weekday-peak" (Mon–Fri
        // 08–20 local) = 0.28 $/kWh.
        // GPU-A1, GPU-A2: no pool entry for chat-h100, so gpus.H100: capex (30,000 − 3,000) / (4 × 8,760) = 27,000 /
        //   35,040 = 0.770547945205… $/h, + opex 0.35 = 409/365 = 1.120547945205… $ for the hour each.
        //   A1 energy: (500 W × 3,600 s + 400 W × 3,600 s) × 1.3 = (1,800,000 + 1,440,000) × 1.3 = 4,212,000 J
        //     = 1.17 kWh × 0.28 = 0.3276 $.
        //   A2 energy: GPU 600 × 1,790 + (600 + 100) / 2 × 10 + 100 × 1,800 = 1,074,000 + 3,500 + 180,000 = 1,257,500 J,
        //     + node 1,440,000 J = 2,697,500 J × 1.3 = 3,506,750 J = 0.974097222… kWh × 0.28 = 0.272747222… $.
        // GPU-B1, GPU-B2: pools.batch-spot, rented 0.9 $/h with energy included: 0.9 $ each, no energy cost.
        // Fleet: 2 × 409/365 + 0.3276 + 0.272747222… + 1.8 = 975,817 / 210,240 = 4.641443112633181… $.
        const double FleetCostUsd = 975_817.0 / 210_240;

        // Idle: chat-h100 below 5 % for 5 min: GPU-A2 10:30:00–11:00:00 = 0.5 h: 0.5 × 409/365 = 0.560273972… $ +
        //   (100 W GPU + 400 W node) × 1,800 s × 1.3 = 1,170,000 J = 0.325 kWh × 0.28 = 0.091 $ → 0.651273972… $.
        // batch-spot below 2 % for 15 min: GPU-B2 at 0 % all hour = 1 h × 0.9 = 0.9 $ (energy included); GPU-B1 at
        //   60 % is never idle. Fleet idle = 1.5 GPU-h, 0.5 × 409/365 + 0.091 + 0.9 = 1.551273972602739… $.
        const double IdleCostUsd = (0.5 * 409.0 / 365) + 0.091 + 0.9;

        using JsonDocument cost = await GetAsync(hour.Host, "cost", null);
        AssertFigures(cost.RootElement.GetProperty("totals"), "totals (shipped pricing)", ("costUsd", FleetCostUsd), ("gpuHours", 4.0));
        using JsonDocument idle = await GetAsync(hour.Host, "idle", null);
        AssertFigures(idle.RootElement.GetProperty("totals"), "idle totals (shipped pricing)", ("idleGpuHours", 1.5), ("idleCostUsd", IdleCostUsd));
    }

    /// <summary>Every figure that differs between the variants, worked out by hand (arithmetic in <see cref="ExpectedFor"/>).</summary>
    private sealed record Expected(
        double A1GpuJoules,
        double A2GpuJoules,
        double B1GpuJoules,
        double B2GpuJoules,
        double A2IdleSeconds,
        double B2IdleSeconds,
        double A2IdleCostUsd,
        double B2IdleCostUsd,
        double A2IdleEnergyJoules,
        double B2IdleEnergyJoules);

    /// <summary>
    /// The hand computation. Common to all variants:
    /// <list type="bullet">
    /// <item>Every GPU is charged the whole hour: 1 GPU-hour each, 4 in all. Hardware: GPU-A1, GPU-A2: capex 1.00 +
    /// opex 0.50 = 1.50 $; GPU-B1, GPU-B2: rental 2.00 $ (its own component, no opex).</item>
    /// <item>Node energy: 100 W × 3,600 s = 360,000 J per GPU, whatever the telemetry (the pricing file's node power is
    /// constant over the GPU's hour).</item>
    /// <item>Facility energy = (GPU + node energy) × 1.25; energy cost = facility J / 3.6e6 × 0.20 $/kWh.</item>
    /// <item>Utilization: the 360 samples 10:00:00…10:59:50 (in every variant): A1 80 % → 0.80 utilized GPU-h;
    /// A2 (180 × 90 + 180 × 2) / 360 = 46 % → 0.46; B1 60 % → 0.60; B2 0. Fleet 1.86 of 4 GPU-h = 46.5 %.</item>
    /// <item>Tokens: acme 360,000 prompt + 72,000 completion (weighted 360,000 + 3 × 72,000 = 576,000); globex
    /// 234,000 + 18,000 (weighted 234,000 + 54,000 = 288,000); llama without a tenant 216,000 + 24,000 (weighted
    /// 216,000 + 72,000 = 288,000); team-b 180,000 + 180,000 (weighted 720,000). llama's two GPUs run in namespace
    /// llm, which no request names: both rows are shared by weighted tokens, 576,000 : 288,000 : 288,000 = 1/2 to
    /// acme, 1/4 to globex, and 1/4 stays on the rows as the model's remainder (tenant llm, with the requests without
    /// a tenant). mistral's GPU runs in namespace team-b, which is the tenant of its requests: that row is team-b's
    /// whole. Tokens in all: prompt 360,000 + 234,000 + 216,000 + 180,000 = 990,000, completion 72,000 + 18,000 +
    /// 24,000 + 180,000 = 294,000, 1,284,000 tokens in 1,020 requests.</item>
    /// </list>
    /// </summary>
    private static Expected ExpectedFor(Telemetry telemetry) => telemetry switch
    {
        // (a) Continuous, trapezoid over the sample times, clipped to [10:00:00, 11:00:00):
        //   A1: 500 W × 3,600 s = 1,800,000 J.
        //   A2: 600 × 1,790 (10:00:00–10:29:50) + (600 + 100) / 2 × 10 (10:29:50–10:30:00) + 100 × 1,800 (10:30:00–11:00:00)
        //       = 1,074,000 + 3,500 + 180,000 = 1,257,500 J.
        //   B1: 300 × 3,590 (10:00:00–10:59:50) + (300 + 150) / 2 × 10 (10:59:50–11:00:00) = 1,077,000 + 2,250 = 1,079,250 J
        //       (the 150 W samples before 10:00:00 bridge only to 10:00:00, outside the hour).
        //   B2: 60 × 3,600 = 216,000 J.
        // Idle: A2 is below 5 % from the sample at 10:30:00 to 11:04:50 (35 min ≥ 5), clipped to 10:30:00–11:00:00 =
        //   1,800 s; B2 all of 09:55:00–11:04:50, clipped to 3,600 s.
        //   A2 idle $: 0.5 h × 1.50 = 0.75 + (100 W + 100 W) × 1,800 s × 1.25 = 450,000 J = 0.125 kWh × 0.20 = 0.025 → 0.775 $.
        //   B2 idle $: 1 h × 2.00 = 2.00 + (60 + 100) × 3,600 × 1.25 = 720,000 J = 0.2 kWh × 0.20 = 0.04 → 2.04 $.
        Telemetry.Continuous => new(1_800_000, 1_257_500, 1_079_250, 216_000, 1_800, 3_600, 0.775, 2.04, 450_000, 720_000),

        // (b) Samples 10:00:00–10:59:50 only. docs/pricing.md "Edges": the first sample counts from its own time and the
        // last is not held, so energy is the trapezoid 10:00:00–10:59:50 (3,590 s):
        //   A1: 500 × 3,590 = 1,795,000 J.
        //   A2: 600 × 1,790 + 3,500 + 100 × 1,790 (10:30:00–10:59:50) = 1,074,000 + 3,500 + 179,000 = 1,256,500 J.
        //   B1: 300 × 3,590 = 1,077,000 J.   B2: 60 × 3,590 = 215,400 J.
        // Idle ends at the last sample (docs/analytics.md, "last sample before a gap, and of all"):
        //   A2 10:30:00–10:59:50 = 1,790 s: 1,790 / 3,600 × 1.50 = 0.745833… + (100 + 100) × 1,790 × 1.25 = 447,500 J
        //       = 0.124305… kWh × 0.20 = 0.024861… → 5,549 / 7,200 = 0.770694444… $.
        //   B2 10:00:00–10:59:50 = 3,590 s: 3,590 / 3,600 × 2.00 = 1.994444… + (60 + 100) × 3,590 × 1.25 = 718,000 J
        //       = 0.199444… kWh × 0.20 = 0.039888… → 6,103 / 3,000 = 2.034333… $.
        Telemetry.InsideHourOnly => new(1_795_000, 1_256_500, 1_077_000, 215_400, 1_790, 3_590, 5_549.0 / 7_200, 6_103.0 / 3_000, 447_500, 718_000),

        // (c) Energy counters: each reading is the counter at its own time; between two readings the counter rises by
        // the power sent with the first of them × 10 s (the power changes exactly at the sample times). The hour's
        // energy is counter(11:00:00) − counter(10:00:00), the readings being exactly at the window's edges:
        //   A1: 500 × 3,600 = 1,800,000 J.
        //   A2: 600 × 1,800 (10:00:00–10:30:00) + 100 × 1,800 = 1,260,000 J (not the trapezoid's 1,257,500).
        //   B1: 300 × 3,600 = 1,080,000 J (the reading at 10:59:50 stays at 10:59:50: the 150 W after 11:00:00 is not in
        //       the hour; a reading moved to the end of its minute would take 09:59:50–10:00:00 at 150 W instead).
        //   B2: 60 × 3,600 = 216,000 J.
        // Idle as in (a): A2's idle energy is counter(11:00:00) − counter(10:30:00) = 180,000 J, + node 180,000, × 1.25
        //   = 450,000 J → 0.775 $; B2 2.04 $.
        Telemetry.EnergyCounters => new(1_800_000, 1_260_000, 1_080_000, 216_000, 1_800, 3_600, 0.775, 2.04, 450_000, 720_000),
        _ => throw new ArgumentOutOfRangeException(nameof(telemetry)),
    };

    private const double NodeJoules = 360_000;
    private const double Pue = 1.25;
    private const double UsdPerJoule = 0.20 / 3.6e6;

    private static async Task AssertCostAsync(CollectorHost host, Expected e)
    {
        // Per GPU (groupBy=gpu): hardware + (GPU J + 360,000 J) × 1.25 × 0.20 / 3.6e6.
        // (a): A1 1.50 + 2,700,000 J → 0.15 $ = 1.65 $; A2 1.50 + 2,021,875 J → 0.112326388… $ = 9,287 / 5,760 =
        //      1.612326388… $; B1 2.00 + 1,799,062.5 J → 0.099947916… $ = 40,319 / 19,200 = 2.099947916… $; B2 2.00 +
        //      720,000 J → 0.04 $ = 2.04 $. Fleet 426,371 / 57,600 = 7.402274305… $.
        // (b): A1 1.50 + 2,693,750 J → 0.149652777… = 4,751 / 2,880 $; A2 1.50 + 2,020,625 J → 46,433 / 28,800 $;
        //      B1 2.00 + 1,796,250 J → 10,079 / 4,800 $; B2 2.00 + 719,250 J → 48,959 / 24,000 $. Fleet 1,065,839 / 144,000 $.
        // (c): A1 1.65 $; A2 1.50 + 2,025,000 J → 0.1125 = 1.6125 $; B1 2.00 + 1,800,000 J → 0.10 = 2.10 $; B2 2.04 $.
        //      Fleet 7.4025 $.
        // The code below states each figure as that arithmetic on the variant's hand-computed GPU joules.
        (string Gpu, double Joules, double CapexUsd, double OpexUsd, double RentalUsd, double UtilizedGpuHours)[] gpus =
        [
            ("GPU-A1", e.A1GpuJoules, 1.00, 0.50, 0, 0.80),
            ("GPU-A2", e.A2GpuJoules, 1.00, 0.50, 0, 0.46),
            ("GPU-B1", e.B1GpuJoules, 0, 0, 2.00, 0.60),
            ("GPU-B2", e.B2GpuJoules, 0, 0, 2.00, 0),
        ];
        using JsonDocument byGpu = await GetAsync(host, "cost", "gpu");
        Assert.Equal(4, byGpu.RootElement.GetProperty("rows").GetArrayLength());
        foreach ((string gpu, double joules, double capex, double opex, double rental, double utilized) in gpus)
        {
            double facility = (joules + NodeJoules) * Pue;
            AssertFigures(Row(byGpu, ("gpu", gpu)), gpu,
                ("gpuHours", 1.0), ("utilizedGpuHours", utilized), ("capexUsd", capex), ("opexUsd", opex), ("rentalUsd", rental),
                ("gpuEnergyJoules", joules), ("nodeEnergyJoules", NodeJoules), ("facilityEnergyJoules", facility),
                ("energyCostUsd", facility * UsdPerJoule), ("costUsd", capex + opex + rental + (facility * UsdPerJoule)));
        }

        double a1 = CostOf(1.50, e.A1GpuJoules), a2 = CostOf(1.50, e.A2GpuJoules), b1 = CostOf(2.00, e.B1GpuJoules), b2 = CostOf(2.00, e.B2GpuJoules);
        double fleetJoules = e.A1GpuJoules + e.A2GpuJoules + e.B1GpuJoules + e.B2GpuJoules;
        double fleetFacility = (fleetJoules + (4 * NodeJoules)) * Pue;

        // Totals: 4 GPU-h, 1.86 utilized; 990,000 prompt + 294,000 completion tokens, 1,020 requests. (a): facility
        // 14,481,875 / 2 = 7,240,937.5 J = 2.011371527… kWh, 1,284,000 tokens / 2.011371527… kWh = 638,370.376… tokens/kWh;
        // 7.402274305… $ / 1.284 = 5.765011141… $/1M.
        AssertFigures(byGpu.RootElement.GetProperty("totals"), "totals",
            ("gpuHours", 4.0), ("utilizedGpuHours", 1.86), ("costUsd", a1 + a2 + b1 + b2), ("gpuEnergyJoules", fleetJoules),
            ("facilityEnergyJoules", fleetFacility), ("promptTokens", 990_000), ("completionTokens", 294_000), ("requestCount", Requests),
            ("tokensPerKilowattHour", 1_284_000 / (fleetFacility / 3.6e6)), ("costPerMillionTokensUsd", (a1 + a2 + b1 + b2) / 1.284));

        // Per pool: chat-h100 = A1 + A2 ((a) 18,791 / 5,760 = 3.262326388… $), batch-spot = B1 + B2 ((a) 79,487 / 19,200
        // = 4.139947916… $).
        using JsonDocument byPool = await GetAsync(host, "cost", "pool");
        Assert.Equal(2, byPool.RootElement.GetProperty("rows").GetArrayLength());
        AssertFigures(Row(byPool, ("pool", "chat-h100")), "pool chat-h100", ("gpuHours", 2.0), ("costUsd", a1 + a2),
            ("facilityEnergyJoules", (e.A1GpuJoules + e.A2GpuJoules + (2 * NodeJoules)) * Pue));
        AssertFigures(Row(byPool, ("pool", "batch-spot")), "pool batch-spot", ("gpuHours", 2.0), ("costUsd", b1 + b2),
            ("facilityEnergyJoules", (e.B1GpuJoules + e.B2GpuJoules + (2 * NodeJoules)) * Pue));

        // Per model: llama = A1 + A2, mistral = B1, unallocated (model null) = B2.
        using JsonDocument byModel = await GetAsync(host, "cost", "model");
        Assert.Equal(3, byModel.RootElement.GetProperty("rows").GetArrayLength());
        AssertFigures(Row(byModel, ("model", "llama")), "model llama", ("gpuHours", 2.0), ("costUsd", a1 + a2), ("promptTokens", 810_000), ("completionTokens", 114_000));
        AssertFigures(Row(byModel, ("model", "mistral")), "model mistral", ("gpuHours", 1.0), ("costUsd", b1), ("promptTokens", 180_000), ("completionTokens", 180_000));
        AssertFigures(Row(byModel, ("model", null)), "unallocated", ("gpuHours", 1.0), ("costUsd", b2), ("promptTokens", 0), ("completionTokens", 0));

        // Per tenant and model. llama's cost (a) 18,791 / 5,760 $ splits 1/2 : 1/4 : 1/4 by weighted tokens:
        //   acme: 1/2 × 3.262326388… = 18,791 / 11,520 = 1.631163194… $; 1 GPU-h; utilized 1/2 × (0.80 + 0.46) = 0.63;
        //     prompt part 360,000 / 576,000 = 0.625 → 1.019476996… $, completion 3 × 72,000 / 576,000 = 0.375 →
        //     0.611686197… $; $/1M tokens 1.631163194… / 0.432 = 3.775840727…; $/1M prompt = cost / weighted × 1e6 =
        //     1.631163194… / 0.576 = 2.831880545…; $/1M completion 3 × that = 8.495641637…; facility 1/2 × (2,700,000 +
        //     2,021,875) = 2,360,937.5 J = 0.655815972… kWh → 432,000 / 0.655815972… = 658,721.376… tokens/kWh.
        //   globex: 1/4 → 0.815581597… $; 0.5 GPU-h; 0.315 utilized; prompt part 234,000 / 288,000 → 0.662660047… $,
        //     completion 54,000 / 288,000 → 0.152921549… $; 0.815581597… / 0.252 = 3.236434909… $/1M; $/1M prompt and
        //     completion as acme's (one model, one price per weighted token): 2.831880545…, 8.495641637…; facility
        //     1,180,468.75 J → 252,000 / 0.327907986… kWh = 768,508.272… tokens/kWh.
        //   llm (the remainder, with the requests without a tenant): 1/4 → 0.815581597… $; prompt part 216,000 / 288,000
        //     → 0.611686197… $, completion 72,000 / 288,000 → 0.203895399… $; 0.815581597… / 0.24 = 3.398256655… $/1M;
        //     2.831880545…, 8.495641637…; 240,000 / 0.327907986… kWh = 731,912.640… tokens/kWh.
        //   team-b (mistral, its own namespace): the whole of B1, (a) 2.099947916… $; 1 GPU-h, 0.60 utilized; prompt part
        //     180,000 / 720,000 = 1/4, completion 3/4; $/1M 2.099947916… / 0.36 = 5.833188657…; prompt 2.099947916… / 0.72
        //     = 2.916594328…; completion 8.749782986…; facility 1,799,062.5 J = 0.499739583… kWh → 720,375.195… tokens/kWh.
        //   unallocated (tenant and model null): B2, 2.04 $, no tokens.
        double llama = a1 + a2;
        double llamaJoules = e.A1GpuJoules + e.A2GpuJoules;
        double llamaFacility = (llamaJoules + (2 * NodeJoules)) * Pue;
        (string Tenant, string Model, double Share, double Prompt, double Completion, double Requests, double Weighted)[] tenants =
        [
            ("acme", "llama", 1.0 / 2, 360_000, 72_000, 360, 576_000),
            ("globex", "llama", 1.0 / 4, 234_000, 18_000, 180, 288_000),
            ("llm", "llama", 1.0 / 4, 216_000, 24_000, 120, 288_000),
        ];
        using JsonDocument byTenant = await GetAsync(host, "cost", "tenant,model");
        Assert.Equal(5, byTenant.RootElement.GetProperty("rows").GetArrayLength());
        foreach ((string tenant, string model, double share, double prompt, double completion, double requests, double weighted) in tenants)
        {
            double cost = llama * share;
            double facility = llamaFacility * share;
            AssertFigures(Row(byTenant, ("tenant", tenant), ("model", model)), tenant,
                ("gpuHours", 2 * share), ("utilizedGpuHours", 1.26 * share), ("costUsd", cost), ("gpuEnergyJoules", llamaJoules * share),
                ("facilityEnergyJoules", facility), ("promptTokens", prompt), ("completionTokens", completion), ("requestCount", requests),
                ("promptCostUsd", cost * prompt / weighted), ("completionCostUsd", cost * 3 * completion / weighted),
                ("costPerMillionTokensUsd", cost / (prompt + completion) * 1e6), ("costPerMillionPromptTokensUsd", cost / weighted * 1e6),
                ("costPerMillionCompletionTokensUsd", 3 * cost / weighted * 1e6), ("tokensPerKilowattHour", (prompt + completion) / (facility / 3.6e6)));
        }

        double b1Facility = (e.B1GpuJoules + NodeJoules) * Pue;
        AssertFigures(Row(byTenant, ("tenant", "team-b"), ("model", "mistral")), "team-b",
            ("gpuHours", 1.0), ("utilizedGpuHours", 0.60), ("costUsd", b1), ("gpuEnergyJoules", e.B1GpuJoules), ("facilityEnergyJoules", b1Facility),
            ("promptTokens", 180_000), ("completionTokens", 180_000), ("requestCount", 360), ("promptCostUsd", b1 / 4), ("completionCostUsd", b1 * 3 / 4),
            ("costPerMillionTokensUsd", b1 / 0.36), ("costPerMillionPromptTokensUsd", b1 / 0.72), ("costPerMillionCompletionTokensUsd", 3 * b1 / 0.72),
            ("tokensPerKilowattHour", 360_000 / (b1Facility / 3.6e6)));
        AssertFigures(Row(byTenant, ("tenant", null), ("model", null)), "unallocated", ("gpuHours", 1.0), ("costUsd", b2), ("promptTokens", 0));
    }

    private static async Task AssertIdleAsync(CollectorHost host, Expected e)
    {
        // chat-h100 (node-a, H100): 2 GPU-h, idle = A2's; batch-spot (node-b, L40S): 2 GPU-h, idle = B2's.
        // (a), (c): 0.5 h, 0.775 $, 450,000 J, share 0.25; 1 h, 2.04 $, 720,000 J, share 0.5; totals 1.5 h, 2.815 $.
        // (b): 1,790 s = 0.497222… h, 0.770694… $, 447,500 J; 3,590 s = 0.997222… h, 2.034333… $, 718,000 J.
        using JsonDocument idle = await GetAsync(host, "idle", "pool,node,gpu_model");
        Assert.Equal(2, idle.RootElement.GetProperty("rows").GetArrayLength());
        AssertFigures(Row(idle, ("pool", "chat-h100"), ("node", "node-a"), ("gpuModel", "H100")), "idle chat-h100",
            ("gpuHours", 2.0), ("idleGpuHours", e.A2IdleSeconds / 3_600), ("idleCostUsd", e.A2IdleCostUsd), ("idleEnergyJoules", e.A2IdleEnergyJoules),
            ("idleShare", e.A2IdleSeconds / 3_600 / 2));
        AssertFigures(Row(idle, ("pool", "batch-spot"), ("node", "node-b"), ("gpuModel", "L40S")), "idle batch-spot",
            ("gpuHours", 2.0), ("idleGpuHours", e.B2IdleSeconds / 3_600), ("idleCostUsd", e.B2IdleCostUsd), ("idleEnergyJoules", e.B2IdleEnergyJoules),
            ("idleShare", e.B2IdleSeconds / 3_600 / 2));
        AssertFigures(idle.RootElement.GetProperty("totals"), "idle totals",
            ("gpuHours", 4.0), ("idleGpuHours", (e.A2IdleSeconds + e.B2IdleSeconds) / 3_600), ("idleCostUsd", e.A2IdleCostUsd + e.B2IdleCostUsd));
    }

    private static async Task AssertKpisAsync(CollectorHost host, Expected e)
    {
        // The fleet row: 4 GPU-h, 1.86 utilized = 46.5 %; idle as above; cost and energy as the cost totals; tokens
        // 1,284,000; PUE = facility / (GPU + node) = 1.25. Pool, model and tenant rows carry the figures of /cost;
        // utilization = utilized / GPU-hours: chat-h100 1.26 / 2 = 63 %, batch-spot 0.60 / 2 = 30 %, llama and each of
        // its tenants 63 %, team-b 60 %.
        double a1 = CostOf(1.50, e.A1GpuJoules), a2 = CostOf(1.50, e.A2GpuJoules), b1 = CostOf(2.00, e.B1GpuJoules), b2 = CostOf(2.00, e.B2GpuJoules);
        double fleetFacility = (e.A1GpuJoules + e.A2GpuJoules + e.B1GpuJoules + e.B2GpuJoules + (4 * NodeJoules)) * Pue;
        using JsonDocument kpis = await GetAsync(host, "kpis", null);
        JsonElement fleet = Row(kpis, ("scope", "fleet"));
        AssertFigures(fleet, "kpi fleet",
            ("gpuHours", 4.0), ("utilizedGpuHours", 1.86), ("utilizationPercent", 46.5), ("idleGpuHours", (e.A2IdleSeconds + e.B2IdleSeconds) / 3_600),
            ("idleCostUsd", e.A2IdleCostUsd + e.B2IdleCostUsd), ("idleShare", (e.A2IdleSeconds + e.B2IdleSeconds) / 3_600 / 4), ("costUsd", a1 + a2 + b1 + b2),
            ("facilityEnergyJoules", fleetFacility), ("tokens", 1_284_000), ("tokensPerKilowattHour", 1_284_000 / (fleetFacility / 3.6e6)),
            ("costPerMillionTokensUsd", (a1 + a2 + b1 + b2) / 1.284), ("pue", 1.25));
        AssertFigures(Row(kpis, ("scope", "pool"), ("key", "chat-h100")), "kpi pool chat-h100",
            ("costUsd", a1 + a2), ("utilizationPercent", 1.26 / 2 * 100), ("idleGpuHours", e.A2IdleSeconds / 3_600), ("idleCostUsd", e.A2IdleCostUsd));
        AssertFigures(Row(kpis, ("scope", "pool"), ("key", "batch-spot")), "kpi pool batch-spot",
            ("costUsd", b1 + b2), ("utilizationPercent", 0.60 / 2 * 100), ("idleGpuHours", e.B2IdleSeconds / 3_600), ("idleCostUsd", e.B2IdleCostUsd));
        AssertFigures(Row(kpis, ("scope", "model"), ("key", "llama")), "kpi model llama",
            ("costUsd", a1 + a2), ("tokens", 924_000), ("costPerMillionTokensUsd", (a1 + a2) / 0.924), ("utilizationPercent", 63.0));
        AssertFigures(Row(kpis, ("scope", "tenant"), ("key", "acme")), "kpi tenant acme",
            ("costUsd", (a1 + a2) / 2), ("tokens", 432_000), ("costPerMillionTokensUsd", (a1 + a2) / 2 / 0.432), ("utilizationPercent", 63.0));
        AssertFigures(Row(kpis, ("scope", "tenant"), ("key", "globex")), "kpi tenant globex",
            ("costUsd", (a1 + a2) / 4), ("tokens", 252_000), ("costPerMillionTokensUsd", (a1 + a2) / 4 / 0.252), ("utilizationPercent", 63.0));
        AssertFigures(Row(kpis, ("scope", "tenant"), ("key", "llm")), "kpi tenant llm (llama's remainder)",
            ("costUsd", (a1 + a2) / 4), ("tokens", 240_000), ("costPerMillionTokensUsd", (a1 + a2) / 4 / 0.24));
        AssertFigures(Row(kpis, ("scope", "tenant"), ("key", "team-b")), "kpi tenant team-b",
            ("costUsd", b1), ("tokens", 360_000), ("tokensPerKilowattHour", 360_000 / ((e.B1GpuJoules + NodeJoules) * Pue / 3.6e6)), ("utilizationPercent", 60.0));
    }

    /// <summary>A GPU's hour: its hardware dollars + (GPU J + node J) × PUE × $/J.</summary>
    private static double CostOf(double hardwareUsd, double gpuJoules) => hardwareUsd + ((gpuJoules + NodeJoules) * Pue * UsdPerJoule);

    private static JsonElement Row(JsonDocument answer, params (string Key, string? Value)[] tags)
    {
        JsonElement[] matches = answer.RootElement.GetProperty("rows").EnumerateArray()
            .Where(r => tags.All(t => r.TryGetProperty(t.Key, out JsonElement v) && v.GetString() == t.Value))
            .ToArray();
        Assert.True(matches.Length == 1, $"{matches.Length} rows with {string.Join(", ", tags.Select(t => $"{t.Key}={t.Value ?? "null"}"))} in {answer.RootElement}");
        return matches[0];
    }

    private static void AssertFigures(JsonElement row, string what, params (string Field, double Expected)[] figures)
    {
        foreach ((string field, double expected) in figures)
        {
            Assert.True(row.TryGetProperty(field, out JsonElement value) && value.ValueKind == JsonValueKind.Number, $"{what}: no number {field} in {row}");
            double actual = value.GetDouble();
            double scale = Math.Max(Math.Abs(expected), 1e-300);
            Assert.True(expected == 0 ? Math.Abs(actual) < 1e-12 : Math.Abs(actual - expected) / scale <= Tolerance,
                string.Create(CultureInfo.InvariantCulture, $"{what}: {field} = {actual:R}, worked out by hand {expected:R} (relative error {Math.Abs(actual - expected) / scale:E2})"));
        }
    }

    private static async Task<JsonDocument> GetAsync(CollectorHost host, string endpoint, string? groupBy)
    {
        string query = string.Create(CultureInfo.InvariantCulture, $"/api/v1/{endpoint}?from={Hour:yyyy-MM-ddTHH:mm:ssZ}&to={Hour.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}");
        if (groupBy is not null)
        {
            query += "&groupBy=" + groupBy;
        }

        using HttpResponseMessage response = await host.Client.GetAsync(new Uri(query, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{query}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    /// <summary>
    /// The in-process collector with analytics, on a clock that starts at 11:00:00 (the hour's requests arrive live,
    /// as they would) and is moved to 14:00:00 so the request windows close; the GPU samples follow.
    /// </summary>
    private sealed class HourHost : IAsyncDisposable
    {
        private readonly ShiftedTimeProvider _clock;

        private HourHost(CollectorHost host, ShiftedTimeProvider clock)
        {
            Host = host;
            _clock = clock;
        }

        public CollectorHost Host { get; }

        public static async Task<HourHost> StartAsync(InfluxDbServer? influx, params string[] extra)
        {
            var clock = new ShiftedTimeProvider(Hour.AddHours(1));
            string[] store = [];
            if (influx is not null)
            {
                // Created here, not by the forwarder's first write, so that a query before that write finds it.
                await influx.QueryAsync("CREATE DATABASE observacost");
                store = ["--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", influx.Url.ToString()];
            }

            // Request windows stay open for 2 h after their end, so the whole hour's records are live when pushed at
            // 11:00; the jump to 14:00 closes them all.
            CollectorHost host = await CollectorHost.StartWithAnalyticsOnDemandAsync(
                builder => builder.Services.AddSingleton<TimeProvider>(clock),
                [.. store, "--Collector:RequestLogs:Aggregation:AllowedLateness", "02:00:00", .. extra]);
            return new HourHost(host, clock);
        }

        public async Task PushAndBackfillAsync(Telemetry telemetry)
        {
            using (HttpResponseMessage requests = await Host.Client.SendAsync(RequestLogPosts.Post(RequestLog())))
            {
                string answer = await requests.Content.ReadAsStringAsync();
                Assert.True(requests.IsSuccessStatusCode, answer);
                using JsonDocument json = JsonDocument.Parse(answer);
                Assert.Equal(Requests, json.RootElement.GetProperty("accepted").GetInt32());
            }

            _clock.JumpTo(Hour.AddHours(4));
            (string lines, int samples) = GpuSamples(telemetry);
            using var write = new HttpRequestMessage(HttpMethod.Post, "/write?precision=s") { Content = new StringContent(lines, Encoding.UTF8) };
            write.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
            using (HttpResponseMessage written = await Host.Client.SendAsync(write))
            {
                Assert.True(written.StatusCode == HttpStatusCode.NoContent, await written.Content.ReadAsStringAsync());
            }

            // One 10 s window per request (each requester's requests are 10, 20 or 30 s apart): 1,020 windows.
            QueryResult windows = await Host.WaitForAsync(
                TimeSeriesQueryBuilder.From(Measurements.InferenceWindow).Count(Fields.PromptTokens).Between(Hour, Hour.AddHours(1)).Build(),
                r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == Requests);
            Assert.Equal(Requests, windows.Series.Single().Rows[0][0].Integer);
            QueryResult stored = await Host.WaitForAsync(
                TimeSeriesQueryBuilder.From(Measurements.GpuSample).Count(Fields.PowerWatts).Between(Hour.AddHours(-1), Hour.AddHours(2)).Build(),
                r => r.Series.Count == 1 && r.Series[0].Rows[0][0].Integer == samples);
            Assert.Equal(samples, stored.Series.Single().Rows[0][0].Integer);

            await Host.Services.GetRequiredService<AnalyticsBackfill>()
                .RunAsync(Hour, Hour.AddHours(1), new BackfillProgress(TextWriter.Null, redraw: false, _clock));
        }

        public async ValueTask DisposeAsync() => await Host.DisposeAsync();

        /// <summary>NDJSON request records with OpenAI-style usage (see the class remarks).</summary>
        private static string RequestLog()
        {
            var body = new StringBuilder();
            for (int k = 0; k < 360; k++)
            {
                Append(body, Hour.AddSeconds(5 + (10 * k)), "llama", "acme", 1_000, 200);
                Append(body, Hour.AddSeconds(3 + (10 * k)), "mistral", "team-b", 500, 500);
                if (k < 180)
                {
                    Append(body, Hour.AddSeconds(7 + (20 * k)), "llama", "globex", 1_300, 100);
                }

                if (k < 120)
                {
                    Append(body, Hour.AddSeconds(1 + (30 * k)), "llama", tenant: null, 1_800, 200);
                }
            }

            return body.ToString();

            static void Append(StringBuilder body, DateTimeOffset t, string model, string? tenant, int prompt, int completion) =>
                body.Append(CultureInfo.InvariantCulture,
                    $"{{\"timestamp\":\"{t:yyyy-MM-ddTHH:mm:ssZ}\",\"model\":\"{model}\",{(tenant is null ? string.Empty : $"\"tenant\":\"{tenant}\",")}\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{prompt + completion}}},\"latency_ms\":800}}\n");
        }

        /// <summary>Line protocol for the four GPUs (see the class remarks), with the tag set of docs/collector.md.</summary>
        private static (string Lines, int Samples) GpuSamples(Telemetry telemetry)
        {
            bool inside = telemetry == Telemetry.InsideHourOnly;
            DateTimeOffset first = inside ? Hour : Hour.AddMinutes(-5);
            DateTimeOffset end = inside ? Hour.AddHours(1) : Hour.AddMinutes(65);
            var body = new StringBuilder();
            var counters = new Dictionary<string, double> { ["GPU-A1"] = 5e6, ["GPU-A2"] = 6e6, ["GPU-B1"] = 7e6, ["GPU-B2"] = 8e6 };
            int samples = 0;
            for (DateTimeOffset t = first; t < end; t = t.AddSeconds(10))
            {
                bool inHour = t >= Hour && t < Hour.AddHours(1);
                bool a2Busy = t < Hour.AddMinutes(30);
                Line("GPU-A1", "node-a", 0, "H100", "chat-h100", "llm", "vllm-0", "llama", 500, 80);
                Line("GPU-A2", "node-a", 1, "H100", "chat-h100", "llm", "vllm-1", "llama", a2Busy ? 600 : 100, a2Busy ? 90 : 2);
                Line("GPU-B1", "node-b", 0, "L40S", "batch-spot", "team-b", "batch-0", "mistral", inHour ? 300 : 150, 60);
                Line("GPU-B2", "node-b", 1, "L40S", "batch-spot", null, null, null, 60, 0);

                void Line(string uuid, string node, int index, string model, string pool, string? ns, string? pod, string? served, double watts, double utilization)
                {
                    body.Append(CultureInfo.InvariantCulture, $"gpu_sample,gpu={index},gpu_model={model}");
                    if (ns is not null)
                    {
                        body.Append(CultureInfo.InvariantCulture, $",namespace={ns}");
                    }

                    body.Append(CultureInfo.InvariantCulture, $",node={node}");
                    if (pod is not null)
                    {
                        body.Append(CultureInfo.InvariantCulture, $",pod={pod},pool={pool},served_model={served}");
                    }
                    else
                    {
                        body.Append(CultureInfo.InvariantCulture, $",pool={pool}");
                    }

                    body.Append(CultureInfo.InvariantCulture, $",uuid={uuid} power_watts={watts},utilization_percent={utilization}");
                    if (telemetry == Telemetry.EnergyCounters)
                    {
                        // The counter at this reading; the power sent with it holds until the next reading, 10 s later.
                        body.Append(CultureInfo.InvariantCulture, $",energy_joules={counters[uuid]}");
                        counters[uuid] += watts * 10;
                    }

                    body.Append(CultureInfo.InvariantCulture, $" {t.ToUnixTimeSeconds()}\n");
                    samples++;
                }
            }

            return (body.ToString(), samples);
        }
    }
}
