using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>One answer of the API: the query as understood, the rows, and (cost, idle) their totals.</summary>
public sealed record ApiResponse<TRow>
{
    [Description("Start of the range, inclusive (UTC).")]
    public required DateTimeOffset From { get; init; }

    [Description("End of the range, exclusive (UTC).")]
    public required DateTimeOffset To { get; init; }

    [Description("The bucket length (1h, 1d), or null for one bucket over the whole range.")]
    public string? Step { get; init; }

    [Description("The tag keys rows are grouped by.")]
    public required IReadOnlyList<string> GroupBy { get; init; }

    [Description("The tenant the rows are limited to (a tenant token), or null for an admin token.")]
    public string? Tenant { get; init; }

    public required IReadOnlyList<TRow> Rows { get; init; }

    [Description("Every row summed, ratios re-derived from the sums; absent for KPIs (each bucket's fleet KPI is its total).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TRow? Totals { get; init; }
}

/// <summary>Cost of one group over one bucket: sums of the stored windows and ratios re-derived from the sums.</summary>
public sealed record CostRow
{
    [Description("Bucket start (UTC); a stored window is in the bucket its start falls in.")]
    public required DateTimeOffset WindowStart { get; init; }

    [Description("Bucket end (UTC), exclusive.")]
    public required DateTimeOffset WindowEnd { get; init; }

    [Description("Served model; null when not grouped by model, or for unallocated GPU time.")]
    public string? Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public string? GpuModel { get; init; }

    [Description("The GPU's UUID, when grouped by gpu (admin only); absent otherwise.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Gpu { get; init; }

    [Description("The MIG GPU instance id of the row, when grouped by gpu and the row is a MIG instance's; absent otherwise (a MIG GPU's free slices have none).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MigInstance { get; init; }

    [Description("The MIG instance's profile, e.g. 3g.40gb; absent when migInstance is.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MigProfile { get; init; }

    [Description("How the row's share of its GPU was found: whole_gpu, mig_slices, mig_slices_no_activity, mig_equal, process_utilization, tokens, requested_fraction(_normalised), equal; when grouped by gpu or attribution_basis, absent otherwise.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AttributionBasis { get; init; }

    public required double GpuHours { get; init; }

    [Description("GPU-hours × mean utilization: the busy part of gpuHours.")]
    public required double UtilizedGpuHours { get; init; }

    public required double CostUsd { get; init; }

    public required double CapexUsd { get; init; }

    [Description("Owned hardware's opex; includes the rental price when rentalUsd is null.")]
    public required double OpexUsd { get; init; }

    [Description("Rented GPU-hours × the rental price (0 for owned hardware); null when a window read was computed before rental was split from opex, its rental then being inside opexUsd (recompute with backfill to split).")]
    public double? RentalUsd { get; init; }

    public required double EnergyCostUsd { get; init; }

    [Description("The part of costUsd charged to prompt tokens by the split rule.")]
    public required double PromptCostUsd { get; init; }

    public required double CompletionCostUsd { get; init; }

    public required double GpuEnergyJoules { get; init; }

    public required double NodeEnergyJoules { get; init; }

    [Description("Where nodeEnergyJoules came from: measured (the node's measured power less its GPUs'), fixed (the pricing file's energy.nodePowerWatts), none, or mixed for a sum of rows that differ; null for windows computed before it was recorded.")]
    public string? NodePowerSource { get; init; }

    [Description("GPU and node energy × PUE.")]
    public required double FacilityEnergyJoules { get; init; }

    public required long PromptTokens { get; init; }

    public required long CompletionTokens { get; init; }

    public required long RequestCount { get; init; }

    [Description("Tokens the GPU-hours could have served at the model's peak sustained throughput.")]
    public required double MaxTokens { get; init; }

    [Description("Revenue at the model's configured price; null when none is configured.")]
    public double? RevenueUsd { get; init; }

    public double? CostPerMillionTokensUsd { get; init; }

    public double? CostPerMillionPromptTokensUsd { get; init; }

    public double? CostPerMillionCompletionTokensUsd { get; init; }

    public double? TokensPerKilowattHour { get; init; }

    [Description("Facility joules per token (PUE included).")]
    public double? JoulesPerToken { get; init; }

    public double? TokensPerGpuHour { get; init; }

    [Description("Tokens served over maxTokens, 0–1.")]
    public double? CapacityUtilizationRatio { get; init; }

    [Description("Mean of the stored windows' median latency; null in totals (percentiles do not add).")]
    public double? LatencyP50Ms { get; init; }

    public double? LatencyP95Ms { get; init; }

    [Description("Facility energy (GPU and node, PUE included) × the grid's carbon intensity of each moment, gCO2e; null when unknown (no carbon intensity configured, an hour the intensity file lacks, or a window read was computed before carbon).")]
    public double? OperationalCo2eGrams { get; init; }

    [Description("GPU-hours × the GPU's embodied carbon amortised per GPU-hour, gCO2e; null as operationalCo2eGrams.")]
    public double? EmbodiedCo2eGrams { get; init; }

    [Description("Operational + embodied carbon, gCO2e; null when unknown.")]
    public double? Co2eGrams { get; init; }

    [Description("co2eGrams per one million tokens; null without tokens or carbon.")]
    public double? Co2eGramsPerMillionTokens { get; init; }

    internal static CostRow From(CostWindow w, bool withLatency) => new()
    {
        WindowStart = w.WindowStart,
        WindowEnd = w.WindowStart + w.WindowLength,
        Model = w.Model,
        Tenant = w.Tenant,
        Pool = w.Pool,
        Node = w.Node,
        GpuModel = w.GpuModel,
        Gpu = w.GpuUuid,
        MigInstance = w.MigInstance,
        MigProfile = w.MigProfile,
        AttributionBasis = w.AttributionBasis,
        GpuHours = w.GpuHours,
        UtilizedGpuHours = w.UtilizedGpuHours,
        CostUsd = w.CostUsd,
        CapexUsd = w.CapexUsd,
        OpexUsd = w.OpexUsd,
        RentalUsd = w.RentalUsd,
        EnergyCostUsd = w.EnergyCostUsd,
        PromptCostUsd = w.PromptCostUsd,
        CompletionCostUsd = w.CompletionCostUsd,
        GpuEnergyJoules = w.GpuEnergyJoules,
        NodeEnergyJoules = w.NodeEnergyJoules,
        NodePowerSource = w.NodePowerSource,
        FacilityEnergyJoules = w.FacilityEnergyJoules,
        PromptTokens = w.PromptTokens,
        CompletionTokens = w.CompletionTokens,
        RequestCount = w.RequestCount,
        MaxTokens = w.MaxTokens,
        RevenueUsd = w.RevenueUsd,
        CostPerMillionTokensUsd = w.CostPerMillionTokensUsd,
        CostPerMillionPromptTokensUsd = w.CostPerMillionPromptTokensUsd,
        CostPerMillionCompletionTokensUsd = w.CostPerMillionCompletionTokensUsd,
        TokensPerKilowattHour = w.TokensPerKilowattHour,
        JoulesPerToken = w.JoulesPerToken,
        TokensPerGpuHour = w.TokensPerGpuHour,
        CapacityUtilizationRatio = w.CapacityUtilizationRatio,
        LatencyP50Ms = withLatency ? w.LatencyP50Ms : null,
        LatencyP95Ms = withLatency ? w.LatencyP95Ms : null,
        OperationalCo2eGrams = w.OperationalCo2eGrams,
        EmbodiedCo2eGrams = w.EmbodiedCo2eGrams,
        Co2eGrams = w.Co2eGrams,
        Co2eGramsPerMillionTokens = w.Co2eGramsPerMillionTokens,
    };

    /// <summary>Every row summed over [from, to), the ratios re-derived from the sums by <see cref="CostFigures"/>.</summary>
    internal static CostRow Total(DateTimeOffset from, DateTimeOffset to, IReadOnlyList<CostWindow> rows)
    {
        bool anyRevenue = rows.Any(r => r.RevenueUsd is not null);
        (double opex, double? rental) = CostFigures.OpexAndRental(rows.Sum(r => r.OpexUsd), rows.Sum(r => r.RentalUsd ?? 0), rows.All(r => r.RentalUsd is not null));
        CostWindow sum = CostFigures.WithRatios(new CostWindow
        {
            WindowStart = from,
            WindowLength = to - from,
            GpuHours = rows.Sum(r => r.GpuHours),
            UtilizedGpuHours = rows.Sum(r => r.UtilizedGpuHours),
            GpuEnergyJoules = rows.Sum(r => r.GpuEnergyJoules),
            NodeEnergyJoules = rows.Sum(r => r.NodeEnergyJoules),
            NodePowerSource = rows.Aggregate((string?)null, (source, r) => NodePowerSources.Combine(source, r.NodePowerSource)),
            FacilityEnergyJoules = rows.Sum(r => r.FacilityEnergyJoules),
            CapexUsd = rows.Sum(r => r.CapexUsd),
            OpexUsd = opex,
            RentalUsd = rental,
            EnergyCostUsd = rows.Sum(r => r.EnergyCostUsd),
            CostUsd = rows.Sum(r => r.CostUsd),
            PromptCostUsd = rows.Sum(r => r.PromptCostUsd),
            CompletionCostUsd = rows.Sum(r => r.CompletionCostUsd),
            PromptTokens = rows.Sum(r => r.PromptTokens),
            CompletionTokens = rows.Sum(r => r.CompletionTokens),
            RequestCount = rows.Sum(r => r.RequestCount),
            MaxTokens = rows.Sum(r => r.MaxTokens),
            RevenueUsd = anyRevenue ? rows.Sum(r => r.RevenueUsd ?? 0) : null,
            OperationalCo2eGrams = CostFigures.CarbonSum(rows.Sum(r => r.OperationalCo2eGrams ?? 0), rows.All(r => r.OperationalCo2eGrams is not null)),
            EmbodiedCo2eGrams = CostFigures.CarbonSum(rows.Sum(r => r.EmbodiedCo2eGrams ?? 0), rows.All(r => r.EmbodiedCo2eGrams is not null)),
            Co2eGrams = CostFigures.CarbonSum(rows.Sum(r => r.Co2eGrams ?? 0), rows.All(r => r.Co2eGrams is not null)),
        });
        return From(sum, withLatency: false);
    }
}

/// <summary>Idle capacity of one group over one bucket.</summary>
public sealed record IdleRow
{
    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public string? GpuModel { get; init; }

    [Description("All GPU-hours of the group, busy or idle.")]
    public required double GpuHours { get; init; }

    public required double IdleGpuHours { get; init; }

    public required double IdleCostUsd { get; init; }

    public required double IdleEnergyJoules { get; init; }

    [Description("idleGpuHours over gpuHours, 0–1.")]
    public required double IdleShare { get; init; }

    [Description("The idle part of the carbon (operational and embodied), gCO2e; null when unknown.")]
    public double? IdleCo2eGrams { get; init; }

    internal static IdleRow From(IdleWindow w) => new()
    {
        WindowStart = w.WindowStart,
        WindowEnd = w.WindowStart + w.WindowLength,
        Pool = w.Pool,
        Node = w.Node,
        GpuModel = w.GpuModel,
        GpuHours = w.GpuHours,
        IdleGpuHours = w.IdleGpuHours,
        IdleCostUsd = w.IdleCostUsd,
        IdleEnergyJoules = w.IdleEnergyJoules,
        IdleShare = w.IdleShare,
        IdleCo2eGrams = w.IdleCo2eGrams,
    };

    internal static IdleRow Total(DateTimeOffset from, DateTimeOffset to, IReadOnlyList<IdleWindow> rows) => From(new IdleWindow
    {
        WindowStart = from,
        WindowLength = to - from,
        GpuHours = rows.Sum(r => r.GpuHours),
        IdleGpuHours = rows.Sum(r => r.IdleGpuHours),
        IdleCostUsd = rows.Sum(r => r.IdleCostUsd),
        IdleEnergyJoules = rows.Sum(r => r.IdleEnergyJoules),
        IdleCo2eGrams = CostFigures.CarbonSum(rows.Sum(r => r.IdleCo2eGrams ?? 0), rows.All(r => r.IdleCo2eGrams is not null)),
    });
}

/// <summary>Efficiency KPIs of one scope over one bucket, from the summed cost and idle windows.</summary>
public sealed record KpiRow
{
    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    [Description("fleet, pool, model or tenant.")]
    public required string Scope { get; init; }

    [Description("The pool, model or tenant; empty for the fleet.")]
    public required string Key { get; init; }

    public required double GpuHours { get; init; }

    public required double UtilizedGpuHours { get; init; }

    [Description("Mean GPU utilization over the GPU-hours, %.")]
    public required double UtilizationPercent { get; init; }

    [Description("Fleet and pools only, admin tokens only.")]
    public double? IdleGpuHours { get; init; }

    public double? IdleCostUsd { get; init; }

    public double? IdleShare { get; init; }

    public required double CostUsd { get; init; }

    public required double CapexUsd { get; init; }

    [Description("Owned hardware's opex; includes the rental price when rentalUsd is null.")]
    public required double OpexUsd { get; init; }

    [Description("Rental dollars; null when a window summed was computed before rental was split from opex (its rental inside opexUsd).")]
    public double? RentalUsd { get; init; }

    public required double EnergyCostUsd { get; init; }

    public required double GpuEnergyJoules { get; init; }

    public required double NodeEnergyJoules { get; init; }

    public required double FacilityEnergyJoules { get; init; }

    public required long PromptTokens { get; init; }

    public required long CompletionTokens { get; init; }

    public required long Tokens { get; init; }

    public required long RequestCount { get; init; }

    public required double MaxTokens { get; init; }

    public double? RevenueUsd { get; init; }

    public double? CostPerMillionTokensUsd { get; init; }

    public double? TokensPerKilowattHour { get; init; }

    public double? JoulesPerToken { get; init; }

    public double? TokensPerGpuHour { get; init; }

    public double? CapacityUtilizationRatio { get; init; }

    [Description("Facility over IT energy.")]
    public double? Pue { get; init; }

    [Description("(revenueUsd − costUsd) / costUsd; null without revenue.")]
    public double? RoiRatio { get; init; }

    [Description("Operational carbon, gCO2e; null when unknown.")]
    public double? OperationalCo2eGrams { get; init; }

    [Description("Embodied carbon, gCO2e; null when unknown.")]
    public double? EmbodiedCo2eGrams { get; init; }

    [Description("Operational + embodied carbon, gCO2e; null when unknown.")]
    public double? Co2eGrams { get; init; }

    [Description("Idle carbon, gCO2e (fleet and pools only); null when unknown.")]
    public double? IdleCo2eGrams { get; init; }

    [Description("co2eGrams per one million tokens; null without tokens or carbon.")]
    public double? Co2eGramsPerMillionTokens { get; init; }

    internal static KpiRow From(KpiWindow k) => new()
    {
        WindowStart = k.WindowStart,
        WindowEnd = k.WindowStart + k.WindowLength,
        Scope = KpiWindow.ScopeTag(k.Scope),
        Key = k.Key,
        GpuHours = k.GpuHours,
        UtilizedGpuHours = k.UtilizedGpuHours,
        UtilizationPercent = k.UtilizationPercent,
        IdleGpuHours = k.IdleGpuHours,
        IdleCostUsd = k.IdleCostUsd,
        IdleShare = k.IdleShare,
        CostUsd = k.CostUsd,
        CapexUsd = k.CapexUsd,
        OpexUsd = k.OpexUsd,
        RentalUsd = k.RentalUsd,
        EnergyCostUsd = k.EnergyCostUsd,
        GpuEnergyJoules = k.GpuEnergyJoules,
        NodeEnergyJoules = k.NodeEnergyJoules,
        FacilityEnergyJoules = k.FacilityEnergyJoules,
        PromptTokens = k.PromptTokens,
        CompletionTokens = k.CompletionTokens,
        Tokens = k.Tokens,
        RequestCount = k.RequestCount,
        MaxTokens = k.MaxTokens,
        RevenueUsd = k.RevenueUsd,
        CostPerMillionTokensUsd = k.CostPerMillionTokensUsd,
        TokensPerKilowattHour = k.TokensPerKilowattHour,
        JoulesPerToken = k.JoulesPerToken,
        TokensPerGpuHour = k.TokensPerGpuHour,
        CapacityUtilizationRatio = k.CapacityUtilizationRatio,
        Pue = k.Pue,
        RoiRatio = k.Roi,
        OperationalCo2eGrams = k.OperationalCo2eGrams,
        EmbodiedCo2eGrams = k.EmbodiedCo2eGrams,
        Co2eGrams = k.Co2eGrams,
        IdleCo2eGrams = k.IdleCo2eGrams,
        Co2eGramsPerMillionTokens = k.Co2eGramsPerMillionTokens,
    };
}

/// <summary>The anomaly events of a range, newest first, with the filters as understood.</summary>
public sealed record AnomalyResponse
{
    [Description("Start of the range, inclusive (UTC).")]
    public required DateTimeOffset From { get; init; }

    [Description("End of the range, exclusive (UTC).")]
    public required DateTimeOffset To { get; init; }

    [Description("The minimum severity served: info (every event), warning or critical.")]
    public required string Severity { get; init; }

    [Description("The entityKind filter, or null for every kind.")]
    public string? EntityKind { get; init; }

    [Description("The entity filter, or null.")]
    public string? Entity { get; init; }

    [Description("The detector filter, or null.")]
    public string? Detector { get; init; }

    [Description("The series filter, or null.")]
    public string? Series { get; init; }

    [Description("How many events the answer holds.")]
    public required int Count { get; init; }

    [Description("The events, newest first.")]
    public required IReadOnlyList<AnomalyRow> Events { get; init; }
}

/// <summary>One stored anomaly event, as the detector wrote it.</summary>
public sealed record AnomalyRow
{
    [Description("When the anomaly happened (UTC).")]
    public required DateTimeOffset Time { get; init; }

    [Description("info, warning or critical.")]
    public required string Severity { get; init; }

    [Description("The detector or rule that fired.")]
    public required string Detector { get; init; }

    [Description("What the entity is: gpu, model or pool.")]
    public required string EntityKind { get; init; }

    [Description("The entity: a GPU UUID, a model name or a pool.")]
    public required string Entity { get; init; }

    [Description("The signal, e.g. power_watts, utilization_percent, cost_per_million_tokens_usd.")]
    public required string Series { get; init; }

    [Description("The observed value, in the series' unit.")]
    public required double Value { get; init; }

    [Description("The detector's score; larger is more anomalous.")]
    public required double Score { get; init; }

    [Description("The value the detector expected; null when it has none.")]
    public double? ExpectedValue { get; init; }

    [Description("Lower bound of the expected band; null when none.")]
    public double? LowerBound { get; init; }

    [Description("Upper bound of the expected band; null when none.")]
    public double? UpperBound { get; init; }

    [Description("How far the value is outside the band (detector-specific); null when none.")]
    public double? Magnitude { get; init; }
}

/// <summary>The latest issued forecast of each (model, series) over a range.</summary>
public sealed record ForecastResponse
{
    [Description("Start of the range, inclusive (UTC): the given 'from', or the time of the request.")]
    public required DateTimeOffset From { get; init; }

    [Description("End of the range, exclusive (UTC); null when no 'to' was given (up to the end of the stored forecasts).")]
    public DateTimeOffset? To { get; init; }

    [Description("The model filter, or null for every model.")]
    public string? Model { get; init; }

    [Description("The series filter, or null for every series.")]
    public string? Series { get; init; }

    [Description("How many points the answer holds, over all forecasts.")]
    public required int Count { get; init; }

    [Description("One forecast per (model, series), ordered by model then series.")]
    public required IReadOnlyList<ForecastRow> Forecasts { get; init; }
}

/// <summary>The latest issued forecast of one series of one model: the points with the greatest issuedAt.</summary>
public sealed record ForecastRow
{
    [Description("The served model; null for a series without one.")]
    public string? Model { get; init; }

    [Description("The forecast signal: tokens_per_hour, gpus_needed (its upper bound: the GPUs the upper bound of the tokens needs), idle_gpu_hours, idle_cost_usd.")]
    public required string Series { get; init; }

    [Description("The pool the forecast is for; null when none.")]
    public string? Pool { get; init; }

    [Description("The model that served the forecast: 'ensemble(global trees, locals)' (the global ML.NET ensemble), 'ensemble(global trees, locals), previous model' (retraining failed, the previous model served), 'seasonal-naive(m=24), training failed' (no model to fall back on), or a local forecaster's name for a history too short for the global model.")]
    public required string Method { get; init; }

    [Description("When this forecast was issued (UTC, whole seconds).")]
    public required DateTimeOffset IssuedAt { get; init; }

    [Description("The forecast hour by hour, oldest first.")]
    public required IReadOnlyList<ForecastValue> Points { get; init; }
}

/// <summary>One forecast hour.</summary>
public sealed record ForecastValue
{
    [Description("The forecast hour (UTC).")]
    public required DateTimeOffset Time { get; init; }

    [Description("The forecast value, in the series' unit.")]
    public required double Value { get; init; }

    [Description("Lower bound of the prediction interval; null when none.")]
    public double? LowerBound { get; init; }

    [Description("Upper bound of the prediction interval; null when none.")]
    public double? UpperBound { get; init; }
}

/// <summary>The refusals every endpoint shares.</summary>
internal static class ApiProblems
{
    /// <summary>413 for an answer of more than <paramref name="maxRows"/> rows, with what to ask instead.</summary>
    public static ApiProblem? TooMany(int rows, int maxRows, string advice) => rows > maxRows
        ? new ApiProblem(
            StatusCodes.Status413PayloadTooLarge,
            "Response too large",
            string.Create(CultureInfo.InvariantCulture, $"The answer has more than {maxRows} rows (Analytics:Api:MaxRows). {advice}"))
        : null;

    /// <summary>403 for a tenant token on an admin-only endpoint, saying why the data is not a tenant's.</summary>
    public static ApiProblem AdminOnly(string title, string reason) => new(
        StatusCodes.Status403Forbidden,
        title,
        reason + " Use an admin token (Analytics:Api:Tokens:N:Admin=true).");
}

/// <summary>Source-generated JSON for the API's responses (camelCase, as ASP.NET Core's web defaults).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ApiResponse<CostRow>))]
[JsonSerializable(typeof(ApiResponse<IdleRow>))]
[JsonSerializable(typeof(ApiResponse<KpiRow>))]
[JsonSerializable(typeof(AnomalyResponse))]
[JsonSerializable(typeof(ForecastResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
