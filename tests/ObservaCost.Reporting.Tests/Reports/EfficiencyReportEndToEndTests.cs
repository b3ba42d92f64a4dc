using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Windows;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Support;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Reporting.Tests.Reports;

/// <summary>
/// The efficiency report of the hand-designed <see cref="TwoHourFleet"/> (period 11:00–12:00, previous 10:00–11:00 on
/// 2026-11-23), built from the backfilled store: every figure of the JSON, the CSV rows and the Markdown against the
/// arithmetic below, to 1e-9 relative.
/// </summary>
/// <remarks>
/// <para><b>Previous period, 10:00–11:00.</b> GPU-A1: 500 W × 3,590 s (10:00:00–10:59:50) + (500 + 400) / 2 × 10 s
/// (the step to the 400 W sample at 11:00:00) = 1,795,000 + 4,500 = 1,799,500 J; node 200 W × 3,600 s = 720,000 J;
/// facility (1,799,500 + 720,000) × 1.25 = 3,149,375 J → × 0.20 / 3.6e6 = 0.174965277… $; hardware 1.00 capex +
/// 0.50 opex → 1.674965277… $. GPU-B2: 60 × 3,600 = 216,000 J + 720,000 J node, × 1.25 = 1,170,000 J → 0.065 $;
/// rental 2.00 (its own component) → 2.065 $, all of it idle (0 % the whole hour). Fleet: 2 GPU-h, 0.8 utilized = 40 %;
/// spend 3.739965277… $ = capex 1.00 + opex 0.50 + rental 2.00 + energy 0.239965277…; facility 4,319,375 J = 1.199826388… kWh; GPU
/// 2,015,500 J, node 1,440,000 J, PUE 1.25; tokens 360 × 1,200 = 432,000 (360,000 prompt + 72,000 completion);
/// max tokens 1 GPU-h × 200 tokens/s × 3,600 = 720,000 → 60 %; revenue 432,000 × 10 / 1e6 = 4.32 $; latency 800 ms.
/// llama's cost = GPU-A1's 1.674965277… $ over weighted tokens 360,000 + 3 × 72,000 = 576,000: 2.907925829… $ per 1M
/// prompt tokens, 3 × that per 1M completion tokens.</para>
/// <para><b>Period, 11:00–12:00.</b> GPU-A1: 400 × 3,600 = 1,440,000 J + 720,000 node, × 1.25 = 2,700,000 J = 0.75 kWh
/// → 0.15 $ → 1.65 $. GPU-B2 as before, 2.065 $ idle. Fleet: 0.5 utilized = 25 %; spend 3.715 $ (energy 0.215);
/// facility 3,870,000 J = 1.075 kWh; tokens 180 × 1,200 = 216,000 (180,000 + 36,000) → 30 % of 720,000; revenue
/// 2.16 $; latency 600 ms; llama weighted 180,000 + 108,000 = 288,000 → 1.65 / 0.288 = 5.729166… $ per 1M prompt,
/// 17.1875 per 1M completion.</para>
/// <para><b>Stored by the test</b> (<see cref="StoreEventsAsync"/>): a critical anomaly at 11:30 and a warning at
/// 10:30; a forecast of llama issued at 12:00: 300,000 tokens at 12:00 (200,000–400,000), 0 at 13:00. llama's fleet at
/// 12:00 is its last window's 1 GPU-h = 1 GPU at 200 tokens/s, 1.65 $/GPU-h; at the default target 0.7 a GPU serves
/// 200 × 3,600 × 0.7 = 504,000 tokens an hour: 12:00 needs ⌈300,000 / 504,000⌉ = 1 GPU (0 idle), 13:00 needs 0
/// (1 idle GPU-h, 1.65 $).</para>
/// </remarks>
public sealed class EfficiencyReportEndToEndTests : IClassFixture<EfficiencyReportEndToEndTests.Fleet>
{
    private const double Tolerance = 1e-9;

    private const double PreviousEnergyUsd = 4_319_375 / 3.6e6 * 0.20;
    private const double PreviousCostUsd = 1.00 + 2.50 + PreviousEnergyUsd;
    private const double PeriodCostUsd = 3.715;
    private const double IdleUsd = 2.065;

    private readonly Fleet _fleet;

    public EfficiencyReportEndToEndTests(Fleet fleet) => _fleet = fleet;

    /// <summary>The fleet, pushed and backfilled once for the class, with the anomaly events and the forecast stored.</summary>
    public sealed class Fleet : IAsyncLifetime
    {
        public TwoHourFleet Hours { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Hours = await TwoHourFleet.StartAsync();
            await StoreEventsAsync(Hours);
        }

        public async Task DisposeAsync() => await Hours.DisposeAsync();
    }

    internal static async Task StoreEventsAsync(TwoHourFleet hours)
    {
        ArgumentNullException.ThrowIfNull(hours);
        DateTimeOffset issued = TwoHourFleet.PeriodEnd;
        await WindowWriter.WriteAsync(hours.Host.Store,
        [
            new AnomalyEvent { Time = TwoHourFleet.Period.AddMinutes(30), Series = "power_watts", EntityKind = "gpu", Entity = "GPU-A1", Detector = "test-rule", Severity = AnomalySeverity.Critical, Score = 5, Value = 400, ExpectedValue = 500 },
            new AnomalyEvent { Time = TwoHourFleet.Previous.AddMinutes(30), Series = "power_watts", EntityKind = "gpu", Entity = "GPU-B2", Detector = "test-rule", Severity = AnomalySeverity.Warning, Score = 2, Value = 60 },
            new ForecastPoint { Time = issued, Series = "tokens_per_hour", Model = "llama", Method = "seasonal-naive", IssuedAt = issued, Value = 300_000, LowerBound = 200_000, UpperBound = 400_000 },
            new ForecastPoint { Time = issued.AddHours(1), Series = "tokens_per_hour", Model = "llama", Method = "seasonal-naive", IssuedAt = issued, Value = 0, LowerBound = 0, UpperBound = 0 },
        ]);
    }

    private Task<EfficiencyReport> BuildAsync(bool comparePrevious = true) =>
        _fleet.Hours.Services.GetRequiredService<EfficiencyReportBuilder>().BuildAsync(new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd, comparePrevious));

    [Fact]
    public async Task Report_TwoHandDesignedPeriods_JsonFiguresAsWorkedOutByHand()
    {
        EfficiencyReport built = await BuildAsync();
        using var json = new MemoryStream();
        await new JsonReportWriter().WriteAsync(built, json, CancellationToken.None);
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        JsonElement root = document.RootElement;
        Assert.Equal("2026-11-23T11:00:00+00:00", root.GetProperty("period").GetProperty("from").GetString());
        Assert.Equal("2026-11-23T10:00:00+00:00", root.GetProperty("previousPeriod").GetProperty("from").GetString());

        JsonElement fleet = root.GetProperty("fleet");
        (string Key, double Period, double Previous)[] figures =
        [
            ("gpuHours", 2, 2),
            ("utilizedGpuHours", 0.5, 0.8),
            ("utilizationPercent", 25, 40),
            ("promptTokens", 180_000, 360_000),
            ("completionTokens", 36_000, 72_000),
            ("tokens", 216_000, 432_000),
            ("requestCount", 180, 360),
            ("maxTokens", 720_000, 720_000),
            ("capacityUtilizationPercent", 30, 60),
            ("idleGpuHours", 1, 1),
            ("idleCostUsd", IdleUsd, IdleUsd),
            ("idleSharePercent", 50, 50),
            ("idleCostSharePercent", IdleUsd / PeriodCostUsd * 100, IdleUsd / PreviousCostUsd * 100),
            ("costUsd", PeriodCostUsd, PreviousCostUsd),
            ("capexUsd", 1.00, 1.00),
            ("opexUsd", 0.50, 0.50),
            ("rentalUsd", 2.00, 2.00),
            ("energyCostUsd", 0.215, PreviousEnergyUsd),
            ("energyCostSharePercent", 0.215 / PeriodCostUsd * 100, PreviousEnergyUsd / PreviousCostUsd * 100),
            ("gpuEnergyKilowattHours", 1_656_000 / 3.6e6, 2_015_500 / 3.6e6),
            ("nodeEnergyKilowattHours", 0.4, 0.4),
            ("facilityEnergyKilowattHours", 1.075, 4_319_375 / 3.6e6),
            ("pue", 1.25, 1.25),
            ("tokensPerKilowattHour", 216_000 / 1.075, 432_000 / (4_319_375 / 3.6e6)),
            ("joulesPerToken", 3_870_000 / 216_000.0, 4_319_375 / 432_000.0),
            ("tokensPerSecondPerWatt", 216_000 / 3_870_000.0, 432_000 / 4_319_375.0),
            ("costPerMillionTokensUsd", PeriodCostUsd / 0.216, PreviousCostUsd / 0.432),
            ("costPerMillionPromptTokensUsd", 1.65 / 0.288, (1.50 + (3_149_375 / 3.6e6 * 0.20)) / 0.576),
            ("costPerMillionCompletionTokensUsd", 3 * 1.65 / 0.288, 3 * (1.50 + (3_149_375 / 3.6e6 * 0.20)) / 0.576),
            ("revenueUsd", 2.16, 4.32),
            ("roiPercent", (2.16 - PeriodCostUsd) / PeriodCostUsd * 100, (4.32 - PreviousCostUsd) / PreviousCostUsd * 100),
            ("marginPerMillionTokensUsd", (2.16 - PeriodCostUsd) / 0.216, (4.32 - PreviousCostUsd) / 0.432),
            ("latencyP50Ms", 600, 800),
            ("latencyP95Ms", 600, 800),
            ("throughputTokensPerSecond", 60, 120),
        ];
        foreach ((string key, double period, double previous) in figures)
        {
            JsonElement figure = fleet.GetProperty(key);
            AssertClose(period, figure.GetProperty("current").GetDouble(), key + " period");
            AssertClose(previous, figure.GetProperty("previous").GetDouble(), key + " previous");
            AssertClose(period - previous, figure.GetProperty("change").GetDouble(), key + " change");
        }

        // Pools: chat-h100 (GPU-A1) never idle, 80 % → 50 %; batch-spot (GPU-B2) idle both hours.
        JsonElement[] pools = [.. root.GetProperty("pools").EnumerateArray()];
        Assert.Equal(["batch-spot", "chat-h100"], pools.Select(p => p.GetProperty("pool").GetString()));
        AssertClose(IdleUsd, pools[0].GetProperty("idleCostUsd").GetProperty("current").GetDouble(), "batch-spot idle $");
        AssertClose(100, pools[0].GetProperty("idleSharePercent").GetProperty("current").GetDouble(), "batch-spot idle share");
        AssertClose(0, pools[1].GetProperty("idleGpuHours").GetProperty("current").GetDouble(), "chat-h100 idle");
        AssertClose(50, pools[1].GetProperty("utilizationPercent").GetProperty("current").GetDouble(), "chat-h100 utilization");
        AssertClose(80, pools[1].GetProperty("utilizationPercent").GetProperty("previous").GetDouble(), "chat-h100 utilization previous");

        // llama: the whole of GPU-A1.
        JsonElement llama = root.GetProperty("models").EnumerateArray().Single();
        Assert.Equal("llama", llama.GetProperty("model").GetString());
        AssertClose(1.65 / 0.216, llama.GetProperty("costPerMillionTokensUsd").GetProperty("current").GetDouble(), "llama $/1M");
        AssertClose(1.674965277777777 / 0.432, llama.GetProperty("costPerMillionTokensUsd").GetProperty("previous").GetDouble(), "llama $/1M previous");
        AssertClose(216_000 / (2_700_000 / 3.6e6), llama.GetProperty("tokensPerKilowattHour").GetProperty("current").GetDouble(), "llama tokens/kWh");
        AssertClose((2.16 - 1.65) / 0.216, llama.GetProperty("marginPerMillionTokensUsd").GetProperty("current").GetDouble(), "llama margin");

        // Anomalies: one critical in the period, one warning in the previous.
        JsonElement anomalies = root.GetProperty("anomalies");
        AssertClose(1, anomalies.GetProperty("critical").GetProperty("current").GetDouble(), "critical");
        AssertClose(1, anomalies.GetProperty("warning").GetProperty("previous").GetDouble(), "warning previous");
        Assert.Equal("GPU-A1", anomalies.GetProperty("events").EnumerateArray().Single().GetProperty("entity").GetString());

        // Forecast: capacity 504,000 tokens/h; 1 idle GPU-h at 13:00 = 1.65 $.
        JsonElement forecast = root.GetProperty("forecast");
        Assert.True(forecast.GetProperty("available").GetBoolean());
        AssertClose(1, forecast.GetProperty("projectedIdleGpuHours").GetDouble(), "projected idle GPU-h");
        AssertClose(1.65, forecast.GetProperty("projectedIdleCostUsd").GetDouble(), "projected idle $");
        JsonElement[] hours = [.. forecast.GetProperty("models").EnumerateArray().Single().GetProperty("hours").EnumerateArray()];
        Assert.Equal(2, hours.Length);
        AssertClose(504_000, hours[0].GetProperty("capacityTokens").GetDouble(), "capacity");
        Assert.Equal(1, hours[0].GetProperty("gpusNeeded").GetInt32());
        Assert.Equal(0, hours[1].GetProperty("gpusNeeded").GetInt32());

        // The timeline: one hourly point, the period's.
        JsonElement point = root.GetProperty("timeline").EnumerateArray().Single();
        AssertClose(25, point.GetProperty("utilizationPercent").GetDouble(), "timeline utilization");
        AssertClose(1.075, point.GetProperty("facilityEnergyKilowattHours").GetDouble(), "timeline kWh");

        // Reproducibility: the pricing file's SHA-256, the points read (2 cost rows + 2 idle rows an hour? counted as stored).
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(_fleet.Hours.PricingPath))), root.GetProperty("reproducibility").GetProperty("pricingFileSha256").GetString());
        Assert.Equal(64, root.GetProperty("reproducibility").GetProperty("inputsSha256").GetString()!.Length);
        Assert.Equal(2, root.GetProperty("reproducibility").GetProperty("anomalyEventPoints").GetInt64());
        Assert.Equal(2, root.GetProperty("reproducibility").GetProperty("forecastPoints").GetInt64());
        Assert.True(root.GetProperty("reproducibility").GetProperty("costWindowPoints").GetInt64() >= 4);

        // Method notes: every window carries its rental apart and revenue is configured, so neither note.
        string[] notMeasured = [.. root.GetProperty("method").GetProperty("notMeasured").EnumerateArray().Select(n => n.GetString()!)];
        Assert.DoesNotContain(notMeasured, n => n.Contains("rental", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(notMeasured, n => n.StartsWith("No revenue", StringComparison.Ordinal));
        Assert.Equal(ReportDefinitions.All.Count, root.GetProperty("method").GetProperty("definitions").GetArrayLength());

        // The summary is made of these figures.
        string[] summary = [.. root.GetProperty("summary").EnumerateArray().Select(s => s.GetString()!)];
        Assert.Equal("From 2026-11-23 11:00 UTC to 2026-11-23 12:00 UTC the fleet ran 2 GPU-hours at 25 % mean utilization, down 15 points on the previous period.", summary[0]);
        Assert.Contains(summary, s => s == $"Idle capacity cost {ReportText.Usd(IdleUsd)} ({ReportText.Number(IdleUsd / PeriodCostUsd * 100, 1)} % of spend), up {ReportText.Number((IdleUsd / PeriodCostUsd * 100) - (IdleUsd / PreviousCostUsd * 100), 1)} points on the previous period; pool batch-spot idled most (1 GPU-hours, {ReportText.Usd(IdleUsd)}).");
        Assert.Contains(summary, s => s == "1 anomalies were recorded (1 critical, 0 warning), against 1 in the previous period.");
        Assert.Contains(summary, s => s == "At the stored demand forecast the current fleet would carry 1 idle GPU-hours ($1.65) in the 168 hours after the period.");
    }

    /// <summary>
    /// Carbon at a fixed 400 gCO2e/kWh, the H100 embodying 50 g per GPU-hour (1,752 kg over 4 years). Period: facility
    /// 1.075 kWh × 400 = 430 g + 50 g embodied (GPU-A1's hour) = 480 g = 0.48 kg; idle GPU-B2's 1,170,000 J = 0.325 kWh
    /// × 400 = 130 g; per 1M tokens 480 / 0.216 = 2,222.222… g; llama (GPU-A1) 0.75 kWh × 400 + 50 = 350 g over
    /// 216,000 tokens = 1,620.370370… g. Previous: 4,319,375 J / 3.6e6 × 400 = 479.930555… g + 50 = 529.930555… g.
    /// JSON, CSV and Markdown carry the same numbers, and the method note names the intensity.
    /// </summary>
    [Fact]
    public async Task Report_Carbon_JsonCsvAndMarkdownCarryTheHandFigures()
    {
        EfficiencyReport report = await BuildAsync();
        const double PreviousGrams = (4_319_375 / 3.6e6 * 400) + 50;

        AssertClose(0.48, report.Fleet.Co2eKilograms.Current!.Value, "carbon");
        AssertClose(PreviousGrams / 1000, report.Fleet.Co2eKilograms.Previous!.Value, "carbon previous");
        AssertClose(0.43, report.Fleet.OperationalCo2eKilograms.Current!.Value, "operational");
        AssertClose(0.05, report.Fleet.EmbodiedCo2eKilograms.Current!.Value, "embodied");
        AssertClose(0.13, report.Fleet.IdleCo2eKilograms.Current!.Value, "idle carbon");
        AssertClose(480 / 0.216, report.Fleet.Co2eGramsPerMillionTokens.Current!.Value, "g per 1M tokens");
        AssertClose(PreviousGrams / 0.432, report.Fleet.Co2eGramsPerMillionTokens.Previous!.Value, "g per 1M tokens previous");
        ModelFigures llama = report.Models.Single();
        AssertClose(0.35, llama.Co2eKilograms.Current!.Value, "llama carbon");
        AssertClose(350 / 0.216, llama.Co2eGramsPerMillionTokens.Current!.Value, "llama g per 1M");
        PoolFigures batch = report.Pools.Single(p => p.Pool == "batch-spot");
        AssertClose(0.13, batch.Co2eKilograms.Current!.Value, "batch-spot carbon");
        AssertClose(0.13, batch.IdleCo2eKilograms.Current!.Value, "batch-spot idle carbon");
        Assert.Equal("test grid: fixed 400 gCO2e/kWh", report.CarbonIntensity);
        Assert.Contains(report.Method.Notes, n => n.StartsWith("Carbon intensity: test grid: fixed 400 gCO2e/kWh.", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Method.NotMeasured, n => n.StartsWith("Carbon", StringComparison.Ordinal));

        // JSON: the same numbers.
        using var json = new MemoryStream();
        await new JsonReportWriter().WriteAsync(report, json, CancellationToken.None);
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        JsonElement fleet = document.RootElement.GetProperty("fleet");
        AssertClose(0.48, fleet.GetProperty("co2eKilograms").GetProperty("current").GetDouble(), "json carbon");
        AssertClose(480 / 0.216, fleet.GetProperty("co2eGramsPerMillionTokens").GetProperty("current").GetDouble(), "json g per 1M");
        Assert.Equal("test grid: fixed 400 gCO2e/kWh", document.RootElement.GetProperty("carbonIntensity").GetString());

        // CSV: fleet, pool and model rows, and the intensity.
        string[] lines = CsvReportWriter.Text(report).Split('\n');
        string[] carbon = Row(lines, "fleet", string.Empty, "co2eKilograms");
        Assert.Equal("kgCO2e", carbon[3]);
        AssertClose(0.48, Parse(carbon[4]), "csv carbon");
        AssertClose(PreviousGrams / 1000, Parse(carbon[5]), "csv carbon previous");
        AssertClose(350 / 0.216, Parse(Row(lines, "model", "llama", "co2eGramsPerMillionTokens")[4]), "csv llama g per 1M");
        AssertClose(0.13, Parse(Row(lines, "pool", "batch-spot", "idleCo2eKilograms")[4]), "csv pool idle carbon");
        Assert.Equal("test grid: fixed 400 gCO2e/kWh", Row(lines, "carbon", string.Empty, "intensity")[4]);

        // Markdown: the fleet rows, the carbon tables and the intensity (rounded for reading).
        string md = MarkdownReportWriter.Text(report);
        Assert.Contains("| Carbon | kgCO2e | 0.48 | 0.5299 | -0.0499 |", md, StringComparison.Ordinal);
        Assert.Contains("| Carbon per 1M tokens | gCO2e/1M tokens | 2,222.22 | 1,226.69 | +995.53 |", md, StringComparison.Ordinal);
        Assert.Contains("Carbon intensity: test grid: fixed 400 gCO2e/kWh.", md, StringComparison.Ordinal);
        Assert.Contains("| llama | 0.35 | 1,620.37 |", md, StringComparison.Ordinal);
        Assert.Contains("| batch-spot | 0.13 | 0.13 |", md, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_CsvAndMarkdown_CarryTheHandFigures()
    {
        EfficiencyReport report = await BuildAsync();
        string csv = CsvReportWriter.Text(report);
        string[] lines = csv.Split('\n');
        Assert.Equal(CsvReportWriter.Header, lines[0]);

        // fleet,,costUsd,USD,<period>,<previous>,<change>,<change %>: 3.715 against 3.739965277…
        string[] cost = Row(lines, "fleet", string.Empty, "costUsd");
        Assert.Equal("USD", cost[3]);
        AssertClose(PeriodCostUsd, Parse(cost[4]), "csv cost");
        AssertClose(PreviousCostUsd, Parse(cost[5]), "csv cost previous");
        AssertClose(PeriodCostUsd - PreviousCostUsd, Parse(cost[6]), "csv cost change");
        AssertClose((PeriodCostUsd - PreviousCostUsd) / PreviousCostUsd * 100, Parse(cost[7]), "csv cost change %");
        AssertClose(25, Parse(Row(lines, "fleet", string.Empty, "utilizationPercent")[4]), "csv utilization");
        AssertClose(IdleUsd, Parse(Row(lines, "pool", "batch-spot", "idleCostUsd")[4]), "csv pool idle $");
        AssertClose(1.65 / 0.288, Parse(Row(lines, "model", "llama", "costPerMillionPromptTokensUsd")[4]), "csv llama $/1M prompt");
        AssertClose(2.00, Parse(Row(lines, "fleet", string.Empty, "rentalUsd")[4]), "csv rental");
        AssertClose(0.50, Parse(Row(lines, "fleet", string.Empty, "opexUsd")[4]), "csv opex");
        Assert.Equal(report.Reproducibility.InputsSha256, Row(lines, "reproducibility", string.Empty, "inputsSha256")[4]);

        string md = MarkdownReportWriter.Text(report);
        Assert.Contains("| Spend | USD | $3.72 | $3.74 | -$0.02 |", md, StringComparison.Ordinal);
        Assert.Contains("| Mean utilization | % | 25 | 40 | -15 |", md, StringComparison.Ordinal);
        Assert.Contains("| Rental | USD | $2.00 | $2.00 | +$0.00 |", md, StringComparison.Ordinal);
        Assert.Contains("| batch-spot | 1 | 0 | 1 | $2.07 | 100 | $2.07 |", md.Replace("$2.06", "$2.07", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains($"- Query inputs SHA-256: `{report.Reproducibility.InputsSha256}`", md, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_SameInputsTwice_ByteIdenticalJsonAndCsv_AndEqualHashes()
    {
        EfficiencyReport first = await BuildAsync();
        EfficiencyReport second = await BuildAsync();
        Assert.Equal(first.Reproducibility.InputsSha256, second.Reproducibility.InputsSha256);
        Assert.Equal(await BytesAsync(new JsonReportWriter(), first), await BytesAsync(new JsonReportWriter(), second));
        Assert.Equal(await BytesAsync(new CsvReportWriter(), first), await BytesAsync(new CsvReportWriter(), second));
        Assert.Equal(await BytesAsync(new MarkdownReportWriter(), first), await BytesAsync(new MarkdownReportWriter(), second));
    }

    [Fact]
    public async Task Report_NotCompared_PreviousFiguresNullAndNoPreviousPeriod()
    {
        EfficiencyReport report = await BuildAsync(comparePrevious: false);
        Assert.Null(report.PreviousPeriod);
        Assert.Null(report.Fleet.CostUsd.Previous);
        Assert.Null(report.Fleet.CostUsd.Change);
        AssertClose(PeriodCostUsd, report.Fleet.CostUsd.Current!.Value, "cost");
    }

    [Fact]
    public async Task Report_EmptyPeriod_SaysNotMeasuredRatherThanZero()
    {
        // A week with nothing stored: no figure is 0, each is null, and the notes say why.
        DateTimeOffset from = new(2026, 10, 5, 0, 0, 0, TimeSpan.Zero);
        EfficiencyReport report = await _fleet.Hours.Services.GetRequiredService<EfficiencyReportBuilder>().BuildAsync(new ReportRequest(from, from.AddDays(7)));
        Assert.Null(report.Fleet.CostUsd.Current);
        Assert.Null(report.Fleet.UtilizationPercent.Current);
        Assert.False(report.Forecast.Available);
        Assert.Contains(report.Method.NotMeasured, n => n.StartsWith("No cost windows are stored for the period", StringComparison.Ordinal));
        Assert.Contains(report.Method.NotMeasured, n => n.StartsWith("No demand forecast is stored", StringComparison.Ordinal));
        Assert.Equal("From 2026-10-05 00:00 UTC to 2026-10-12 00:00 UTC no cost windows are stored: there is nothing to report.", report.Summary.Single());
    }

    [Fact]
    public async Task Writers_PdfNotRegistered_UnknownFormatListsTheFormatsAvailable()
    {
        ReportWriters writers = _fleet.Hours.Services.GetRequiredService<ReportWriters>();
        Assert.Equal(["csv", "json", "md"], writers.Formats.Where(f => f != "pdf"));
        Assert.True(writers.TryGet("CSV", out IReportWriter? csv));
        Assert.Equal("text/csv; charset=utf-8", csv.ContentType);
        Assert.Equal("observacost-report-2026-11-23T110000Z_2026-11-23T120000Z.csv", ReportWriters.FileName(TwoHourFleet.Period, TwoHourFleet.PeriodEnd, csv));
        Assert.False(writers.TryGet("docx", out _));
        Assert.StartsWith("report format 'docx' is not available; the formats available are csv, json, md", writers.UnknownFormatMessage("docx"), StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    internal static async Task<byte[]> BytesAsync(IReportWriter writer, EfficiencyReport report)
    {
        using var stream = new MemoryStream();
        await writer.WriteAsync(report, stream, CancellationToken.None);
        return stream.ToArray();
    }

    private static string[] Row(string[] lines, string section, string key, string metric)
    {
        string prefix = string.Join(',', section, key, metric) + ",";
        string[] matches = [.. lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];
        Assert.True(matches.Length == 1, $"{matches.Length} rows start with {prefix}");
        return matches[0].Split(',');
    }

    private static double Parse(string cell) => double.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture);

    internal static void AssertClose(double expected, double actual, string what)
    {
        double scale = Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(expected == 0 ? Math.Abs(actual) < 1e-12 : Math.Abs(actual - expected) / scale <= Tolerance,
            string.Create(CultureInfo.InvariantCulture, $"{what}: {actual:R}, worked out by hand {expected:R}"));
    }
}
