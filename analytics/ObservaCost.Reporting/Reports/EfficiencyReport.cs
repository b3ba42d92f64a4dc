namespace ObservaCost.Reporting.Reports;

/// <summary>
/// The efficiency report of one period (docs/reports.md): every figure for the period and, when compared, the previous
/// period of the same length immediately before it, with the change. Built from the stored windows by
/// <c>EfficiencyReportBuilder</c>; written by an <c>IReportWriter</c> per format (JSON, CSV, Markdown,
/// and whatever else is registered). The same stored inputs and pricing file give the same report, value for value:
/// the report holds no wall-clock time.
/// </summary>
public sealed record EfficiencyReport
{
    /// <summary>The shape's version; raised when a member changes meaning (members are only ever added).</summary>
    public int SchemaVersion { get; init; } = 1;

    /// <summary>The period reported on, [From, To).</summary>
    public required ReportPeriod Period { get; init; }

    /// <summary>The period of the same length immediately before <see cref="Period"/>; null when not compared.</summary>
    public ReportPeriod? PreviousPeriod { get; init; }

    /// <summary>The executive summary: plain sentences generated from the figures below, nothing else.</summary>
    public required IReadOnlyList<string> Summary { get; init; }

    /// <summary>The fleet's figures: utilization, capacity, idle, spend, energy, revenue, service.</summary>
    public required FleetFigures Fleet { get; init; }

    /// <summary>Per pool (idle capacity belongs to pools), ordered by pool name.</summary>
    public required IReadOnlyList<PoolFigures> Pools { get; init; }

    /// <summary>Per served model, ordered by model name.</summary>
    public required IReadOnlyList<ModelFigures> Models { get; init; }

    /// <summary>The energy tariff of the pricing file the report was read with.</summary>
    public required ReportTariff Tariff { get; init; }

    /// <summary>
    /// The grid carbon intensity of the pricing file the report was read with, in words (its source, its form: fixed,
    /// time-of-use schedule or hourly file); "not configured" when the file has no carbon section.
    /// </summary>
    public string CarbonIntensity { get; init; } = NoCarbonIntensity;

    /// <summary>What <see cref="CarbonIntensity"/> says without a carbon section.</summary>
    public const string NoCarbonIntensity = "not configured";

    /// <summary>The stored anomaly events of the period, newest first, and their counts per severity.</summary>
    public required AnomalySection Anomalies { get; init; }

    /// <summary>The stored demand forecast from the period's end against the fleet's capacity at that end.</summary>
    public required ForecastSection Forecast { get; init; }

    /// <summary>The period's fleet figures per bucket (an hour for periods up to two days, else a day), oldest first.</summary>
    public required IReadOnlyList<TimelinePoint> Timeline { get; init; }

    /// <summary>The bucket length of <see cref="Timeline"/>.</summary>
    public required TimeSpan TimelineStep { get; init; }

    /// <summary>What each KPI means, the pricing inputs, what was not measured.</summary>
    public required MethodNotes Method { get; init; }

    /// <summary>Hashes and counts that tie the report to its inputs.</summary>
    public required Reproducibility Reproducibility { get; init; }
}

/// <summary>A period [From, To), UTC.</summary>
public sealed record ReportPeriod(DateTimeOffset From, DateTimeOffset To)
{
    public double Hours => (To - From).TotalHours;
}

/// <summary>
/// One figure for the period and the previous period. Null is "not measured" (no tokens, no revenue configured, no
/// power in the data…), never zero; <see cref="Previous"/> is also null when the report is not compared.
/// </summary>
public sealed record ReportFigure(double? Current, double? Previous)
{
    /// <summary>An uncompared figure.</summary>
    public static ReportFigure Of(double? current) => new(current, null);

    /// <summary>Current − previous, in the figure's unit (percentage points for a percentage); null when either is null.</summary>
    public double? Change => Current is double c && Previous is double p ? c - p : null;

    /// <summary>(current − previous) / |previous| × 100, %; null when either is null or the previous is 0.</summary>
    public double? ChangePercent => Current is double c && Previous is double p && p != 0 ? (c - p) / Math.Abs(p) * 100 : null;
}

/// <summary>The fleet's figures. Every ratio is re-derived from the period's sums (docs/reports.md, "Definitions").</summary>
public sealed record FleetFigures
{
    public required ReportFigure GpuHours { get; init; }

    public required ReportFigure UtilizedGpuHours { get; init; }

    /// <summary>Utilized GPU-hours / GPU-hours × 100, %.</summary>
    public required ReportFigure UtilizationPercent { get; init; }

    public required ReportFigure PromptTokens { get; init; }

    public required ReportFigure CompletionTokens { get; init; }

    public required ReportFigure Tokens { get; init; }

    public required ReportFigure RequestCount { get; init; }

    /// <summary>Tokens the GPU-hours could have served at each model's peak sustained tokens/s per GPU (the cost windows' max tokens).</summary>
    public required ReportFigure MaxTokens { get; init; }

    /// <summary>Tokens / max tokens × 100, %: usable against maximum capacity.</summary>
    public required ReportFigure CapacityUtilizationPercent { get; init; }

    public required ReportFigure IdleGpuHours { get; init; }

    public required ReportFigure IdleCostUsd { get; init; }

    /// <summary>Idle GPU-hours / GPU-hours × 100, %.</summary>
    public required ReportFigure IdleSharePercent { get; init; }

    /// <summary>Idle dollars / spend × 100, %.</summary>
    public required ReportFigure IdleCostSharePercent { get; init; }

    /// <summary>Capex + opex + rental + energy: the whole spend.</summary>
    public required ReportFigure CostUsd { get; init; }

    public required ReportFigure CapexUsd { get; init; }

    /// <summary>Owned hardware's opex; it includes the rental price while <see cref="RentalUsd"/> is null.</summary>
    public required ReportFigure OpexUsd { get; init; }

    public required ReportFigure EnergyCostUsd { get; init; }

    /// <summary>
    /// Rented GPU-hours × the rental price; null (not measured separately, inside opex) for a period with a cost window
    /// computed before rental was split from opex.
    /// </summary>
    public required ReportFigure RentalUsd { get; init; }

    /// <summary>Energy dollars / spend × 100, %.</summary>
    public required ReportFigure EnergyCostSharePercent { get; init; }

    public required ReportFigure GpuEnergyKilowattHours { get; init; }

    public required ReportFigure NodeEnergyKilowattHours { get; init; }

    /// <summary>Facility energy: (GPU + node) × PUE, kWh.</summary>
    public required ReportFigure FacilityEnergyKilowattHours { get; init; }

    /// <summary>Facility / IT energy.</summary>
    public required ReportFigure Pue { get; init; }

    public required ReportFigure TokensPerKilowattHour { get; init; }

    /// <summary>Facility joules per token, J.</summary>
    public required ReportFigure JoulesPerToken { get; init; }

    /// <summary>Tokens per second per watt of facility power = tokens per facility joule.</summary>
    public required ReportFigure TokensPerSecondPerWatt { get; init; }

    public required ReportFigure CostPerMillionTokensUsd { get; init; }

    public required ReportFigure CostPerMillionPromptTokensUsd { get; init; }

    public required ReportFigure CostPerMillionCompletionTokensUsd { get; init; }

    /// <summary>Revenue at the configured prices; null when no model has a price.</summary>
    public required ReportFigure RevenueUsd { get; init; }

    /// <summary>(revenue − cost) / cost × 100, %; null without revenue.</summary>
    public required ReportFigure RoiPercent { get; init; }

    /// <summary>(revenue − cost) / tokens × 1e6, $ per 1M tokens; null without revenue or tokens.</summary>
    public required ReportFigure MarginPerMillionTokensUsd { get; init; }

    /// <summary>Mean of the stored windows' p50 latency, ms; null without latency in the data.</summary>
    public required ReportFigure LatencyP50Ms { get; init; }

    public required ReportFigure LatencyP95Ms { get; init; }

    /// <summary>Tokens / the period's seconds.</summary>
    public required ReportFigure ThroughputTokensPerSecond { get; init; }

    // Carbon (docs/analytics.md, "Carbon"): null when a window of the period has none (no intensity, or computed before carbon).

    /// <summary>Operational + embodied carbon, kgCO2e.</summary>
    public ReportFigure Co2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>Facility energy × the grid's carbon intensity of each moment, kgCO2e.</summary>
    public ReportFigure OperationalCo2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>GPU-hours × the amortised embodied carbon, kgCO2e.</summary>
    public ReportFigure EmbodiedCo2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>The idle GPU-hours' carbon, kgCO2e (a part of <see cref="Co2eKilograms"/>).</summary>
    public ReportFigure IdleCo2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>Carbon per one million tokens, gCO2e.</summary>
    public ReportFigure Co2eGramsPerMillionTokens { get; init; } = ReportFigure.Of(null);
}

/// <summary>One pool's figures.</summary>
public sealed record PoolFigures
{
    public required string Pool { get; init; }

    public required ReportFigure GpuHours { get; init; }

    public required ReportFigure UtilizationPercent { get; init; }

    public required ReportFigure IdleGpuHours { get; init; }

    public required ReportFigure IdleCostUsd { get; init; }

    /// <summary>Idle GPU-hours / GPU-hours × 100, %.</summary>
    public required ReportFigure IdleSharePercent { get; init; }

    public required ReportFigure CostUsd { get; init; }

    /// <summary>Operational + embodied carbon, kgCO2e.</summary>
    public ReportFigure Co2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>The idle GPU-hours' carbon, kgCO2e.</summary>
    public ReportFigure IdleCo2eKilograms { get; init; } = ReportFigure.Of(null);
}

/// <summary>One served model's figures.</summary>
public sealed record ModelFigures
{
    public required string Model { get; init; }

    public required ReportFigure GpuHours { get; init; }

    public required ReportFigure PromptTokens { get; init; }

    public required ReportFigure CompletionTokens { get; init; }

    public required ReportFigure Tokens { get; init; }

    public required ReportFigure CostUsd { get; init; }

    public required ReportFigure CostPerMillionTokensUsd { get; init; }

    public required ReportFigure CostPerMillionPromptTokensUsd { get; init; }

    public required ReportFigure CostPerMillionCompletionTokensUsd { get; init; }

    public required ReportFigure TokensPerKilowattHour { get; init; }

    public required ReportFigure JoulesPerToken { get; init; }

    public required ReportFigure CapacityUtilizationPercent { get; init; }

    public required ReportFigure RevenueUsd { get; init; }

    public required ReportFigure MarginPerMillionTokensUsd { get; init; }

    public required ReportFigure LatencyP50Ms { get; init; }

    public required ReportFigure LatencyP95Ms { get; init; }

    /// <summary>Operational + embodied carbon, kgCO2e.</summary>
    public ReportFigure Co2eKilograms { get; init; } = ReportFigure.Of(null);

    /// <summary>Carbon per one million tokens, gCO2e.</summary>
    public ReportFigure Co2eGramsPerMillionTokens { get; init; } = ReportFigure.Of(null);
}

/// <summary>The energy tariff in force: a base rate and time-of-use periods in local time of <see cref="TimeZone"/>.</summary>
public sealed record ReportTariff(double BaseUsdPerKilowattHour, string TimeZone, IReadOnlyList<ReportTariffPeriod> Periods, double Pue);

/// <summary>A time-of-use period: local hours [StartHour, EndHour) on the days named.</summary>
public sealed record ReportTariffPeriod(string Name, double UsdPerKilowattHour, int StartHour, int EndHour, IReadOnlyList<string> Days);

/// <summary>The period's anomaly events and the counts per severity (period and previous).</summary>
public sealed record AnomalySection
{
    public required ReportFigure Info { get; init; }

    public required ReportFigure Warning { get; init; }

    public required ReportFigure Critical { get; init; }

    public required ReportFigure Total { get; init; }

    /// <summary>The period's events, newest first; at most <see cref="ListedLimit"/> (the counts hold them all).</summary>
    public required IReadOnlyList<ReportAnomaly> Events { get; init; }

    /// <summary>The most events listed.</summary>
    public required int ListedLimit { get; init; }
}

/// <summary>One stored anomaly event.</summary>
public sealed record ReportAnomaly(
    DateTimeOffset Time,
    string Severity,
    string Detector,
    string EntityKind,
    string Entity,
    string Series,
    double Value,
    double? ExpectedValue);

/// <summary>
/// The stored demand forecast of each model from the period's end, against the capacity of the model's fleet at that
/// end (the capacity planner at the configured target utilization).
/// </summary>
public sealed record ForecastSection
{
    /// <summary>False when no forecast point is stored for the hours after the period (then the lists are empty).</summary>
    public required bool Available { get; init; }

    /// <summary>The hours looked at: [the period's end, + horizon).</summary>
    public required ReportPeriod Horizon { get; init; }

    /// <summary>The share of a GPU's peak the planner plans for, 0–1.</summary>
    public required double TargetUtilization { get; init; }

    public required IReadOnlyList<ModelForecast> Models { get; init; }

    /// <summary>Projected idle GPU-hours over the horizon, all models.</summary>
    public required double ProjectedIdleGpuHours { get; init; }

    /// <summary>Projected idle dollars over the horizon, all models.</summary>
    public required double ProjectedIdleCostUsd { get; init; }
}

/// <summary>One model's stored forecast and the planner's capacity hours; <see cref="Hours"/> is empty when the model had no fleet or no measured peak at the period's end.</summary>
public sealed record ModelForecast
{
    public required string Model { get; init; }

    public required string Method { get; init; }

    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>GPUs serving the model at the period's end (its last window's GPU-hours / window hours).</summary>
    public int? GpusInFleet { get; init; }

    /// <summary>The model's peak sustained tokens/s per GPU used (configured, else observed); null when none.</summary>
    public double? TokensPerSecondPerGpu { get; init; }

    public required IReadOnlyList<ForecastHour> Hours { get; init; }

    public required double ProjectedIdleGpuHours { get; init; }

    public required double ProjectedIdleCostUsd { get; init; }
}

/// <summary>One forecast hour: demand with its bounds against the fleet's capacity.</summary>
public sealed record ForecastHour(
    DateTimeOffset Hour,
    double ForecastTokens,
    double? LowerBound,
    double? UpperBound,
    double? CapacityTokens,
    int? GpusNeeded,
    double? ProjectedIdleGpuHours,
    double? ProjectedIdleCostUsd);

/// <summary>The fleet in one bucket of the period.</summary>
public sealed record TimelinePoint(
    DateTimeOffset Start,
    double GpuHours,
    double UtilizationPercent,
    double IdleGpuHours,
    double IdleCostUsd,
    double CostUsd,
    double FacilityEnergyKilowattHours,
    double Tokens,
    double? TokensPerKilowattHour);

/// <summary>How the figures were made.</summary>
public sealed record MethodNotes
{
    /// <summary>Every KPI in one sentence with its formula and unit.</summary>
    public required IReadOnlyList<KpiDefinition> Definitions { get; init; }

    /// <summary>The pricing file's inputs (hardware prices, energy, revenue).</summary>
    public required IReadOnlyList<PricingInput> PricingInputs { get; init; }

    /// <summary>What the data did not measure, each a sentence; the figures concerned are null, never zero.</summary>
    public required IReadOnlyList<string> NotMeasured { get; init; }

    /// <summary>Other notes on how the data is carried (e.g. rental inside opex).</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary>A KPI: its key (the member name in <see cref="FleetFigures"/>), name, unit and definition.</summary>
public sealed record KpiDefinition(string Key, string Name, string Unit, string Definition);

/// <summary>One pricing input, e.g. <c>gpus.H100 capex</c> = 0.7705 $/GPU-h.</summary>
public sealed record PricingInput(string Name, double Value, string Unit);

/// <summary>What ties the report to its inputs: same hashes, same report.</summary>
public sealed record Reproducibility
{
    /// <summary>SHA-256 of the pricing file's bytes, lower-case hex.</summary>
    public required string PricingFileSha256 { get; init; }

    /// <summary>SHA-256 of the canonical serialisation of every stored row the report read, lower-case hex.</summary>
    public required string InputsSha256 { get; init; }

    /// <summary>Stored cost windows in the period (and the previous period, when compared).</summary>
    public required long CostWindowPoints { get; init; }

    public required long IdleWindowPoints { get; init; }

    public required long AnomalyEventPoints { get; init; }

    public required long ForecastPoints { get; init; }

    /// <summary>The software version, e.g. <c>0.11.0</c>.</summary>
    public required string SoftwareVersion { get; init; }

    /// <summary>The git commit the software was built from, or <c>unknown</c>.</summary>
    public required string Commit { get; init; }
}
