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
/// A small real-shaped fleet checked by hand. Power and utilization are the readings of real captures
/// (shared/data/nvidia-smi: the H100 80GB HBM3 under load and idle, the L40S under load, the Tesla T4 at rest),
/// the requests are the Azure LLM code trace of 2023-11-16 (Splitwise, ISCA 2024) between 18:00 and 19:00, and the
/// prices are the pricing file below. Every expected figure is worked out in the comments and written as the
/// arithmetic that gives it, so the test reads as the hand computation.
/// </summary>
public abstract class FourGpuFleetTests : IAsyncLifetime
{
    // The hour of the code trace (its timestamps carry no zone; read as UTC).
    private static readonly DateTimeOffset T0 = new(2023, 11, 16, 18, 0, 0, TimeSpan.Zero);

    private const string PricingJson = """
        {
          "energy": { "pue": 1.3, "nodePowerWatts": 400, "tariff": { "usdPerKilowattHour": 0.12 } },
          "gpus": {
            "NVIDIA H100 80GB HBM3": { "owned": { "purchaseUsd": 30000, "salvageUsd": 3000, "depreciationYears": 4, "opexUsdPerGpuHour": 0.35 } },
            "NVIDIA L40S": { "owned": { "purchaseUsd": 9000, "salvageUsd": 900, "depreciationYears": 3, "opexUsdPerGpuHour": 0.15 } },
            "Tesla T4": { "rented": { "usdPerGpuHour": 0.35, "commitment": "reserved", "energyIncluded": false } }
          },
          "revenueUsdPerMillionTokens": { "code-llm": 0.9 },
          "tokenCostSplit": { "completionTokenWeight": 4 },
          "capacity": { "maxTokensPerSecondPerGpu": { "code-llm": 3000 } }
        }
        """;

    private ITimeSeriesStore? _store;

    protected abstract Task<ITimeSeriesStore> CreateStoreAsync();

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public abstract Task DisposeAsync();

    [Fact]
    public async Task FourGpus_AzureCodeTrace_CostPerMillionTokensIdleDollarsAndTokensPerKwh_EqualTheHandComputation()
    {
        ITimeSeriesStore store = _store!;
        (long requests, long prompt, long completion) = await WriteFleetAsync(store);

        // The trace between 18:00 and 19:00 (its first request is at 18:17:03.98).
        Assert.Equal(7_717, requests);
        Assert.Equal(15_710_990, prompt);
        Assert.Equal(213_958, completion);

        // The production path: the 1-minute rollup job, then the window read from the rollup.
        await new GpuRollupService(store, PricingFileReader.Parse(PricingJson), NullLogger<GpuRollupService>.Instance).RollupAsync(T0.AddMinutes(-5), T0.AddMinutes(65));
        var service = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions(), NullLogger<CostWindowService>.Instance);
        WindowCostReport report = await service.ComputeAndWriteAsync(T0);
        var raw = new CostWindowService(store, PricingFileReader.Parse(PricingJson), new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw }, NullLogger<CostWindowService>.Instance);
        Precision.Close(report.CostUsd, (await raw.ComputeAsync(T0)).CostUsd);

        // Hardware per GPU-hour: H100 (30,000 − 3,000) / (4 × 8,760) + 0.35; L40S (9,000 − 900) / (3 × 8,760) + 0.15.
        const double h100Hourly = (27_000.0 / 35_040) + 0.35;
        const double l40sHourly = (8_100.0 / 26_280) + 0.15;
        // Node power 400 W is shared by the GPUs of a node: node-a (two H100) and node-b (L40S, T4) → 200 W per GPU.
        // Energy $ = (GPU kWh + 0.2 kWh node share) × PUE 1.3 × $0.12 per hour.
        const double gpu1 = h100Hourly + ((0.63195 + 0.2) * 1.3 * 0.12);          // H100 under load, 631.95 W, 100 %, code-llm
        const double gpu2 = h100Hourly + ((0.06985 + 0.2) * 1.3 * 0.12);          // H100 idle, 69.85 W, 0 %, held by code-llm
        const double gpu3Half = (l40sHourly + ((0.11023 + 0.2) * 1.3 * 0.12)) / 2; // L40S, 110.23 W, 9 %: free, then code-llm
        const double gpu4 = 0.35 + ((0.02678 + 0.2) * 1.3 * 0.12);                // T4 at rest, 26.78 W, 0 %, rented, unallocated
        const double codeLlmUsd = gpu1 + gpu2 + gpu3Half;                           // = 2.666284219452055
        const double fleetUsd = codeLlmUsd + gpu3Half + gpu4;                       // = 3.3049694284931506
        const double codeLlmKwh = 1.3 * (0.63195 + 0.2 + 0.06985 + 0.2 + ((0.11023 + 0.2) / 2)); // facility kWh = 1.6339895
        const long tokens = 15_710_990 + 213_958;                                   // = 15,924,948

        Precision.Close(fleetUsd, report.CostUsd);
        Precision.Close(4.0, report.Costs.Sum(c => c.GpuHours));

        KpiWindow model = report.Kpis.Single(k => k.Scope == KpiScope.Model && k.Key == "code-llm");
        Assert.Equal(tokens, model.Tokens);
        Assert.Equal(7_717, model.RequestCount);
        Precision.Close(codeLlmUsd, model.CostUsd);
        Precision.Close(codeLlmUsd / tokens * 1e6, model.CostPerMillionTokensUsd!.Value); // = $0.16742812720343 per 1M tokens
        Precision.Close(tokens / codeLlmKwh, model.TokensPerKilowattHour!.Value);         // = 9,746,052.8 tokens per kWh
        Precision.Close(codeLlmKwh * 3.6e6 / tokens, model.JoulesPerToken!.Value);        // = 0.3694 J per token
        Precision.Close(tokens / 2.5, model.TokensPerGpuHour!.Value);                     // 2.5 GPU-hours served code-llm
        Precision.Close(tokens / (3000.0 * 2.5 * 3600), model.CapacityUtilizationRatio!.Value); // of 27M tokens at 3,000 tokens/s per GPU
        Precision.Close(((tokens / 1e6 * 0.9) - codeLlmUsd) / codeLlmUsd, model.Roi!.Value);

        // Prompt and completion: the cost is shared over prompt + 4 × completion tokens.
        CostWindow[] rows = [.. report.Costs.Where(c => c.Model == "code-llm")];
        // $/1M prompt = cost / (P + 4C) × 1e6 = $0.16094 and $/1M completion four times that = $0.64376.
        Precision.Close(codeLlmUsd * 15_710_990 / (15_710_990 + (4.0 * 213_958)), rows.Sum(r => r.PromptCostUsd));
        Precision.Close(codeLlmUsd / (15_710_990 + (4.0 * 213_958)) * 1e6, rows.Sum(r => r.PromptCostUsd) / 15_710_990 * 1e6);
        Precision.Close(4 * codeLlmUsd / (15_710_990 + (4.0 * 213_958)) * 1e6, rows.Sum(r => r.CompletionCostUsd) / 213_958 * 1e6);

        // Idle: the held-but-idle H100 and the unallocated T4, whole hours each (the L40S at 9 % is above 5 %).
        Precision.Close(gpu2 + gpu4, report.Idle.Sum(i => i.IdleCostUsd)); // = $1.5480222252054794
        Precision.Close(2.0, report.Idle.Sum(i => i.IdleGpuHours));
        KpiWindow fleet = report.Kpis.Single(k => k.Scope == KpiScope.Fleet);
        Precision.Close(0.5, fleet.IdleShare!.Value);
        Precision.Close(gpu2 + gpu4, fleet.IdleCostUsd!.Value);

        // Unallocated: the L40S's first half hour and the T4.
        Precision.Close(gpu3Half + gpu4, report.Costs.Where(c => c.Model is null).Sum(c => c.CostUsd));
    }

    /// <summary>Writes the four GPUs' samples (every 10 s from 17:55 to 19:05) and the trace as per-minute request-log windows.</summary>
    private static async Task<(long Requests, long Prompt, long Completion)> WriteFleetAsync(ITimeSeriesStore store)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = T0.AddMinutes(-5); t < T0.AddMinutes(65); t = t.AddSeconds(10))
        {
            bool secondHalf = t >= T0.AddMinutes(30);
            Sample("node-a", 0, "GPU-H100-LOAD", "NVIDIA H100 80GB HBM3", 631.95, 100, allocated: true);
            Sample("node-a", 1, "GPU-H100-IDLE", "NVIDIA H100 80GB HBM3", 69.85, 0, allocated: true);
            Sample("node-b", 0, "GPU-L40S", "NVIDIA L40S", 110.23, 9, allocated: secondHalf);
            Sample("node-b", 1, "GPU-T4", "Tesla T4", 26.78, 0, allocated: false);

            void Sample(string node, int index, string uuid, string gpuModel, double watts, double util, bool allocated) => new GpuSample
            {
                Time = t, Node = node, GpuIndex = index, GpuUuid = uuid, GpuModel = gpuModel, Pool = "inference",
                Pod = allocated ? "code-llm-" + uuid : null, Namespace = allocated ? "azure-code" : null, ServedModel = allocated ? "code-llm" : null,
                PowerWatts = watts, UtilizationPercent = util,
            }.WriteTo(writer);
        }

        // The code trace, one request-log window per minute (as the collector's aggregator writes them).
        var minutes = new SortedDictionary<DateTimeOffset, (long Requests, long Prompt, long Completion)>();
        string csv = RepoPaths.Data("llm-traces", "azure-llm-inference-2023", "AzureLLMInferenceTrace_code.csv");
        foreach (string line in (await File.ReadAllLinesAsync(csv)).Skip(1))
        {
            string[] cells = line.Split(',');
            var time = new DateTimeOffset(DateTime.ParseExact(cells[0][..19], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), TimeSpan.Zero);
            if (time < T0 || time >= T0.AddHours(1))
            {
                continue;
            }

            DateTimeOffset minute = time.AddSeconds(-time.Second);
            (long r, long p, long c) = minutes.GetValueOrDefault(minute);
            minutes[minute] = (r + 1, p + long.Parse(cells[1], CultureInfo.InvariantCulture), c + long.Parse(cells[2], CultureInfo.InvariantCulture));
        }

        foreach ((DateTimeOffset minute, (long r, long p, long c)) in minutes)
        {
            new InferenceWindow
            {
                WindowStart = minute, WindowLength = TimeSpan.FromMinutes(1), Model = "code-llm", Tenant = "azure-code",
                Source = "request_log", Status = "ok", RequestCount = r, PromptTokens = p, CompletionTokens = c,
            }.WriteTo(writer);
        }

        WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
        Assert.Equal(0, written.PointsRejected);
        return (minutes.Values.Sum(m => m.Requests), minutes.Values.Sum(m => m.Prompt), minutes.Values.Sum(m => m.Completion));
    }
}

/// <summary>The four-GPU fleet on the embedded store.</summary>
public sealed class FourGpuFleetEmbeddedTests : FourGpuFleetTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-four-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;

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

/// <summary>The four-GPU fleet on a real InfluxDB 1.x.</summary>
public sealed class FourGpuFleetInfluxDbTests : FourGpuFleetTests
{
    private InfluxDbServer? _influx;
    private HttpClient? _http;

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
