using ObservaCost.Storage.LineProtocol;

namespace ObservaCost.Storage.Schema;

/// <summary>
/// Cost of one attribution group (model, tenant, pool, node) over one window. Every dollar of the fleet lands in
/// exactly one cost window: attributed to a model/tenant, or, for unallocated GPUs, to the pool with no model.
/// The point's time is the window start.
/// </summary>
public sealed record CostWindow : ILineProtocolPoint
{
    public required DateTimeOffset WindowStart { get; init; }

    public required TimeSpan WindowLength { get; init; }

    public string? Model { get; init; }

    public string? Tenant { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public string? GpuModel { get; init; }

    /// <summary>The GPU's UUID (tag <c>uuid</c>): a computed window has a row per GPU, so one GPU's cost can be read alone.</summary>
    public string? GpuUuid { get; init; }

    /// <summary>The MIG GPU instance the row is a part of (tag <c>mig_instance</c>); null for a whole GPU and a MIG GPU's free slices.</summary>
    public string? MigInstance { get; init; }

    /// <summary>The MIG instance's profile, e.g. <c>3g.40gb</c> (tag <c>mig_profile</c>).</summary>
    public string? MigProfile { get; init; }

    /// <summary>How the row's share of its GPU was found (tag <c>attribution_basis</c>, <see cref="AttributionBases"/>); null for windows computed before it was recorded.</summary>
    public string? AttributionBasis { get; init; }

    public required double GpuHours { get; init; }

    public required double GpuEnergyJoules { get; init; }

    public required double FacilityEnergyJoules { get; init; }

    public required double CapexUsd { get; init; }

    /// <summary>
    /// Owned hardware's opex (colocation, maintenance, staff); when <see cref="RentalUsd"/> is null it holds the rental
    /// price too, as every window computed before rental was split from opex did.
    /// </summary>
    public required double OpexUsd { get; init; }

    /// <summary>
    /// Rented GPU-hours × the rental price per GPU-hour (0 for owned hardware). Null for a window computed before the
    /// split (no <c>rental_usd</c> field stored): its rental is inside <see cref="OpexUsd"/> until it is recomputed.
    /// </summary>
    public double? RentalUsd { get; init; }

    public required double EnergyCostUsd { get; init; }

    public required double CostUsd { get; init; }

    /// <summary>The node's non-GPU energy (CPU, memory, fans) shared to these GPU-hours, before PUE.</summary>
    public double NodeEnergyJoules { get; init; }

    /// <summary>
    /// Where <see cref="NodeEnergyJoules"/> came from: <see cref="NodePowerSources"/> (measured, fixed, none; mixed for a
    /// sum of rows that differ). Null for windows computed before it was recorded. Stored as the tag <c>node_power_source</c>.
    /// </summary>
    public string? NodePowerSource { get; init; }

    /// <summary>GPU-hours × mean utilization: the busy part of <see cref="GpuHours"/>.</summary>
    public double UtilizedGpuHours { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public long RequestCount { get; init; }

    /// <summary>The part of <see cref="CostUsd"/> charged to prompt tokens by the split rule (docs/analytics.md).</summary>
    public double PromptCostUsd { get; init; }

    /// <summary>The part of <see cref="CostUsd"/> charged to completion tokens by the split rule.</summary>
    public double CompletionCostUsd { get; init; }

    /// <summary>Null when no tokens were served.</summary>
    public double? CostPerMillionTokensUsd { get; init; }

    public double? CostPerMillionPromptTokensUsd { get; init; }

    public double? CostPerMillionCompletionTokensUsd { get; init; }

    public double? TokensPerKilowattHour { get; init; }

    /// <summary>Facility joules per token (PUE included).</summary>
    public double? JoulesPerToken { get; init; }

    public double? TokensPerGpuHour { get; init; }

    /// <summary>Tokens the GPU-hours could have served at the model's peak sustained tokens/s per GPU; 0 without a model.</summary>
    public double MaxTokens { get; init; }

    /// <summary>Tokens served over <see cref="MaxTokens"/>, 0–1; null without a capacity.</summary>
    public double? CapacityUtilizationRatio { get; init; }

    /// <summary>Revenue of the tokens at the model's configured price; null when none is configured.</summary>
    public double? RevenueUsd { get; init; }

    /// <summary>Mean of the model's per-minute median latency in the window (percentiles do not add exactly).</summary>
    public double? LatencyP50Ms { get; init; }

    public double? LatencyP95Ms { get; init; }

    /// <summary>
    /// Facility energy (GPU and node, PUE included) × the grid's carbon intensity of each moment, gCO2e. Null when
    /// unknown: no carbon intensity configured, an hour the intensity file lacks, or a window computed before carbon.
    /// </summary>
    public double? OperationalCo2eGrams { get; init; }

    /// <summary>GPU-hours × the embodied carbon amortised per GPU-hour (0 when the price entry gives none), gCO2e; null as above.</summary>
    public double? EmbodiedCo2eGrams { get; init; }

    /// <summary>Operational + embodied, gCO2e; null when either is unknown.</summary>
    public double? Co2eGrams { get; init; }

    /// <summary><see cref="Co2eGrams"/> per one million tokens; null without tokens or carbon.</summary>
    public double? Co2eGramsPerMillionTokens { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.CostWindow)
            .Tag(Tags.AttributionBasis, AttributionBasis)
            .Tag(Tags.GpuModel, GpuModel)
            .Tag(Tags.MigInstance, MigInstance)
            .Tag(Tags.MigProfile, MigProfile)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.NodePowerSource, NodePowerSource)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Tenant, Tenant)
            .Tag(Tags.GpuUuid, GpuUuid)
            .Tag(Tags.Window, WindowTag(WindowLength))
            .Field(Fields.CapacityUtilizationRatio, CapacityUtilizationRatio)
            .Field(Fields.CapexUsd, CapexUsd)
            .Field(Fields.CompletionCostUsd, CompletionCostUsd)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.CostPerMillionCompletionTokensUsd, CostPerMillionCompletionTokensUsd)
            .Field(Fields.CostPerMillionPromptTokensUsd, CostPerMillionPromptTokensUsd)
            .Field(Fields.CostPerMillionTokensUsd, CostPerMillionTokensUsd)
            .Field(Fields.CostUsd, CostUsd)
            .Field(Fields.EnergyCostUsd, EnergyCostUsd)
            .Field(Fields.FacilityEnergyJoules, FacilityEnergyJoules)
            .Field(Fields.GpuEnergyJoules, GpuEnergyJoules)
            .Field(Fields.GpuHours, GpuHours)
            .Field(Fields.JoulesPerToken, JoulesPerToken)
            .Field(Fields.LatencyP50Ms, LatencyP50Ms)
            .Field(Fields.LatencyP95Ms, LatencyP95Ms)
            .Field(Fields.MaxTokens, MaxTokens)
            .Field(Fields.NodeEnergyJoules, NodeEnergyJoules)
            .Field(Fields.OpexUsd, OpexUsd)
            .Field(Fields.PromptCostUsd, PromptCostUsd)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.RentalUsd, RentalUsd)
            .Field(Fields.RequestCount, RequestCount)
            .Field(Fields.RevenueUsd, RevenueUsd)
            .Field(Fields.TokensPerGpuHour, TokensPerGpuHour)
            .Field(Fields.TokensPerKilowattHour, TokensPerKilowattHour)
            .Field(Fields.UtilizedGpuHours, UtilizedGpuHours)
            .Field(Fields.Co2eGrams, Co2eGrams)
            .Field(Fields.Co2eGramsPerMillionTokens, Co2eGramsPerMillionTokens)
            .Field(Fields.EmbodiedCo2eGrams, EmbodiedCo2eGrams)
            .Field(Fields.OperationalCo2eGrams, OperationalCo2eGrams)
            .End(UnixTime.ToNanoseconds(WindowStart));
    }

    /// <summary>The window length as a tag value: <c>1m</c>, <c>1h</c>, <c>1d</c>, or seconds.</summary>
    public static string WindowTag(TimeSpan length) => length switch
    {
        { TotalDays: >= 1 } when length.Ticks % TimeSpan.TicksPerDay == 0 => ((long)length.TotalDays).ToString(System.Globalization.CultureInfo.InvariantCulture) + "d",
        { TotalHours: >= 1 } when length.Ticks % TimeSpan.TicksPerHour == 0 => ((long)length.TotalHours).ToString(System.Globalization.CultureInfo.InvariantCulture) + "h",
        { TotalMinutes: >= 1 } when length.Ticks % TimeSpan.TicksPerMinute == 0 => ((long)length.TotalMinutes).ToString(System.Globalization.CultureInfo.InvariantCulture) + "m",
        _ => ((long)length.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) + "s",
    };
}

/// <summary>Idle capacity of one pool and node over one window: its own record, not a leftover.</summary>
public sealed record IdleWindow : ILineProtocolPoint
{
    public required DateTimeOffset WindowStart { get; init; }

    public required TimeSpan WindowLength { get; init; }

    public string? Pool { get; init; }

    public string? Node { get; init; }

    public string? GpuModel { get; init; }

    public required double GpuHours { get; init; }

    public required double IdleGpuHours { get; init; }

    public required double IdleCostUsd { get; init; }

    public required double IdleEnergyJoules { get; init; }

    /// <summary>The idle part of the carbon (operational and embodied), gCO2e; null when the carbon is unknown.</summary>
    public double? IdleCo2eGrams { get; init; }

    /// <summary>Idle GPU-hours over GPU-hours, 0–1.</summary>
    public double IdleShare => GpuHours > 0 ? IdleGpuHours / GpuHours : 0;

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.IdleWindow)
            .Tag(Tags.GpuModel, GpuModel)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Window, CostWindow.WindowTag(WindowLength))
            .Field(Fields.GpuHours, GpuHours)
            .Field(Fields.IdleCostUsd, IdleCostUsd)
            .Field(Fields.IdleEnergyJoules, IdleEnergyJoules)
            .Field(Fields.IdleGpuHours, IdleGpuHours)
            .Field(Fields.IdleShare, IdleShare)
            .Field(Fields.IdleCo2eGrams, IdleCo2eGrams)
            .End(UnixTime.ToNanoseconds(WindowStart));
    }
}

/// <summary>What a <see cref="KpiWindow"/> covers.</summary>
public enum KpiScope
{
    /// <summary>The whole fleet.</summary>
    Fleet,

    /// <summary>One pool: <see cref="KpiWindow.Key"/> is the pool.</summary>
    Pool,

    /// <summary>One served model: <see cref="KpiWindow.Key"/> is the model.</summary>
    Model,

    /// <summary>One tenant: <see cref="KpiWindow.Key"/> is the tenant.</summary>
    Tenant,
}

/// <summary>
/// Efficiency KPIs of one scope over one window (an hour, or a day rolled up from hours): the figures an investor
/// report and a FinOps review start from. Sums are stored with the ratios, so a longer period can be re-derived.
/// Idle figures exist for the fleet and pools only (idle capacity belongs to hardware, not to a model).
/// </summary>
public sealed record KpiWindow : ILineProtocolPoint
{
    public required DateTimeOffset WindowStart { get; init; }

    public required TimeSpan WindowLength { get; init; }

    public required KpiScope Scope { get; init; }

    /// <summary>The pool, model or tenant; empty for the fleet.</summary>
    public required string Key { get; init; }

    public required double GpuHours { get; init; }

    public required double UtilizedGpuHours { get; init; }

    public double? IdleGpuHours { get; init; }

    public double? IdleCostUsd { get; init; }

    public required double CostUsd { get; init; }

    public required double CapexUsd { get; init; }

    /// <summary>Owned hardware's opex; holds the rental price too when <see cref="RentalUsd"/> is null (see <see cref="CostWindow.RentalUsd"/>).</summary>
    public required double OpexUsd { get; init; }

    /// <summary>Rental dollars; null when a cost window summed here was computed before rental was split from opex.</summary>
    public double? RentalUsd { get; init; }

    public required double EnergyCostUsd { get; init; }

    public required double GpuEnergyJoules { get; init; }

    public required double NodeEnergyJoules { get; init; }

    public required double FacilityEnergyJoules { get; init; }

    public required long PromptTokens { get; init; }

    public required long CompletionTokens { get; init; }

    public required long RequestCount { get; init; }

    public required double MaxTokens { get; init; }

    public double? RevenueUsd { get; init; }

    public long Tokens => PromptTokens + CompletionTokens;

    /// <summary>Operational gCO2e of the scope (see <see cref="CostWindow.OperationalCo2eGrams"/>); null when unknown.</summary>
    public double? OperationalCo2eGrams { get; init; }

    /// <summary>Embodied gCO2e of the scope; null when unknown.</summary>
    public double? EmbodiedCo2eGrams { get; init; }

    /// <summary>Operational + embodied gCO2e; null when unknown.</summary>
    public double? Co2eGrams { get; init; }

    /// <summary>Idle gCO2e (fleet and pools only); null when unknown.</summary>
    public double? IdleCo2eGrams { get; init; }

    /// <summary>gCO2e per one million tokens, from the analytics domain's one formula; null without tokens or carbon.</summary>
    public double? Co2eGramsPerMillionTokens { get; init; }

    /// <summary>Mean utilization over the GPU-hours, %.</summary>
    public double UtilizationPercent => GpuHours > 0 ? UtilizedGpuHours / GpuHours * 100 : 0;

    public double? IdleShare => IdleGpuHours is double idle && GpuHours > 0 ? idle / GpuHours : null;

    public double? CostPerMillionTokensUsd => Tokens > 0 ? CostUsd / Tokens * 1e6 : null;

    public double? TokensPerKilowattHour => Tokens > 0 && FacilityEnergyJoules > 0 ? Tokens / (FacilityEnergyJoules / 3.6e6) : null;

    public double? JoulesPerToken => Tokens > 0 ? FacilityEnergyJoules / Tokens : null;

    public double? TokensPerGpuHour => GpuHours > 0 ? Tokens / GpuHours : null;

    public double? CapacityUtilizationRatio => MaxTokens > 0 ? Tokens / MaxTokens : null;

    /// <summary>Facility over IT energy: the PUE the energy figures carry.</summary>
    public double? Pue => GpuEnergyJoules + NodeEnergyJoules > 0 ? FacilityEnergyJoules / (GpuEnergyJoules + NodeEnergyJoules) : null;

    /// <summary>(revenue − cost) / cost; null without revenue.</summary>
    public double? Roi => RevenueUsd is double revenue && CostUsd > 0 ? (revenue - CostUsd) / CostUsd : null;

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.KpiWindow)
            .Tag(Tags.Key, Key)
            .Tag(Tags.Scope, ScopeTag(Scope))
            .Tag(Tags.Window, CostWindow.WindowTag(WindowLength))
            .Field(Fields.CapacityUtilizationRatio, CapacityUtilizationRatio)
            .Field(Fields.CapexUsd, CapexUsd)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.CostPerMillionTokensUsd, CostPerMillionTokensUsd)
            .Field(Fields.CostUsd, CostUsd)
            .Field(Fields.EnergyCostUsd, EnergyCostUsd)
            .Field(Fields.FacilityEnergyJoules, FacilityEnergyJoules)
            .Field(Fields.GpuEnergyJoules, GpuEnergyJoules)
            .Field(Fields.GpuHours, GpuHours)
            .Field(Fields.IdleCostUsd, IdleCostUsd)
            .Field(Fields.IdleGpuHours, IdleGpuHours)
            .Field(Fields.IdleShare, IdleShare)
            .Field(Fields.JoulesPerToken, JoulesPerToken)
            .Field(Fields.MaxTokens, MaxTokens)
            .Field(Fields.NodeEnergyJoules, NodeEnergyJoules)
            .Field(Fields.OpexUsd, OpexUsd)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.Pue, Pue)
            .Field(Fields.RentalUsd, RentalUsd)
            .Field(Fields.RequestCount, RequestCount)
            .Field(Fields.RevenueUsd, RevenueUsd)
            .Field(Fields.Roi, Roi)
            .Field(Fields.TokensPerGpuHour, TokensPerGpuHour)
            .Field(Fields.TokensPerKilowattHour, TokensPerKilowattHour)
            .Field(Fields.UtilizationPercent, UtilizationPercent)
            .Field(Fields.UtilizedGpuHours, UtilizedGpuHours)
            .Field(Fields.Co2eGrams, Co2eGrams)
            .Field(Fields.Co2eGramsPerMillionTokens, Co2eGramsPerMillionTokens)
            .Field(Fields.EmbodiedCo2eGrams, EmbodiedCo2eGrams)
            .Field(Fields.IdleCo2eGrams, IdleCo2eGrams)
            .Field(Fields.OperationalCo2eGrams, OperationalCo2eGrams)
            .End(UnixTime.ToNanoseconds(WindowStart));
    }

    /// <summary>The scope as its tag value: <c>fleet</c>, <c>pool</c>, <c>model</c>, <c>tenant</c>.</summary>
    public static string ScopeTag(KpiScope scope) => scope switch
    {
        KpiScope.Fleet => "fleet",
        KpiScope.Pool => "pool",
        KpiScope.Model => "model",
        KpiScope.Tenant => "tenant",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown KPI scope."),
    };
}

/// <summary>How bad an anomaly is.</summary>
public enum AnomalySeverity
{
    Info,
    Warning,
    Critical,
}

/// <summary>An anomaly found on one signal of one entity (a GPU, a model, a pool).</summary>
public sealed record AnomalyEvent : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    /// <summary>The signal, e.g. <c>power_watts</c> or <c>cost_per_million_tokens_usd</c>.</summary>
    public required string Series { get; init; }

    /// <summary>What the entity is: <c>gpu</c>, <c>model</c>, <c>pool</c>.</summary>
    public required string EntityKind { get; init; }

    /// <summary>The entity, e.g. a GPU UUID or a model name.</summary>
    public required string Entity { get; init; }

    /// <summary>The detector or rule that fired.</summary>
    public required string Detector { get; init; }

    public required AnomalySeverity Severity { get; init; }

    public required double Score { get; init; }

    public required double Value { get; init; }

    public double? ExpectedValue { get; init; }

    public double? LowerBound { get; init; }

    public double? UpperBound { get; init; }

    public double? Magnitude { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.AnomalyEvent)
            .Tag(Tags.Detector, Detector)
            .Tag(Tags.Entity, Entity)
            .Tag(Tags.EntityKind, EntityKind)
            .Tag(Tags.Series, Series)
            .Tag(Tags.Severity, Severity.ToString().ToLowerInvariant())
            .Field(Fields.ExpectedValue, ExpectedValue)
            .Field(Fields.LowerBound, LowerBound)
            .Field(Fields.Magnitude, Magnitude)
            .Field(Fields.Score, Score)
            .Field(Fields.UpperBound, UpperBound)
            .Field(Fields.Value, Value)
            .End(UnixTime.ToNanoseconds(Time));
    }
}

/// <summary>One forecast value of one series, with its bounds; the point's time is the forecast time.</summary>
public sealed record ForecastPoint : ILineProtocolPoint
{
    public required DateTimeOffset Time { get; init; }

    /// <summary>The forecast signal, e.g. <c>tokens_per_hour</c> or <c>gpus_needed</c>.</summary>
    public required string Series { get; init; }

    public string? Model { get; init; }

    public string? Pool { get; init; }

    /// <summary>The forecasting method, e.g. <c>ssa</c>.</summary>
    public required string Method { get; init; }

    public required DateTimeOffset IssuedAt { get; init; }

    public required double Value { get; init; }

    public double? LowerBound { get; init; }

    public double? UpperBound { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.ForecastPoint)
            .Tag(Tags.Method, Method)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Series, Series)
            .Field(Fields.IssuedAtUnixSeconds, IssuedAt.ToUnixTimeSeconds())
            .Field(Fields.LowerBound, LowerBound)
            .Field(Fields.UpperBound, UpperBound)
            .Field(Fields.Value, Value)
            .End(UnixTime.ToNanoseconds(Time));
    }
}
