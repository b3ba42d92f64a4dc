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

    public required double GpuHours { get; init; }

    public required double GpuEnergyJoules { get; init; }

    public required double FacilityEnergyJoules { get; init; }

    public required double CapexUsd { get; init; }

    public required double OpexUsd { get; init; }

    public required double EnergyCostUsd { get; init; }

    public required double CostUsd { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public long RequestCount { get; init; }

    /// <summary>Null when no tokens were served.</summary>
    public double? CostPerMillionTokensUsd { get; init; }

    public double? TokensPerKilowattHour { get; init; }

    public bool WriteTo(LineProtocolWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.Begin(Measurements.CostWindow)
            .Tag(Tags.GpuModel, GpuModel)
            .Tag(Tags.Model, Model)
            .Tag(Tags.Node, Node)
            .Tag(Tags.Pool, Pool)
            .Tag(Tags.Tenant, Tenant)
            .Tag(Tags.Window, WindowTag(WindowLength))
            .Field(Fields.CapexUsd, CapexUsd)
            .Field(Fields.CompletionTokens, CompletionTokens)
            .Field(Fields.CostPerMillionTokensUsd, CostPerMillionTokensUsd)
            .Field(Fields.CostUsd, CostUsd)
            .Field(Fields.EnergyCostUsd, EnergyCostUsd)
            .Field(Fields.FacilityEnergyJoules, FacilityEnergyJoules)
            .Field(Fields.GpuEnergyJoules, GpuEnergyJoules)
            .Field(Fields.GpuHours, GpuHours)
            .Field(Fields.OpexUsd, OpexUsd)
            .Field(Fields.PromptTokens, PromptTokens)
            .Field(Fields.RequestCount, RequestCount)
            .Field(Fields.TokensPerKilowattHour, TokensPerKilowattHour)
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
            .End(UnixTime.ToNanoseconds(WindowStart));
    }
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
