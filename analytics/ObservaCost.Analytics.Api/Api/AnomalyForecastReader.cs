using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Reading;
using ObservaCost.Storage;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>What <c>/anomalies</c> asks for: a range, a minimum severity and optional tag filters.</summary>
public sealed record AnomalyQuery(DateTimeOffset From, DateTimeOffset To, AnomalySeverity MinimumSeverity, string? EntityKind, string? Entity, string? Detector, string? Series);

/// <summary>What <c>/forecast</c> asks for: a range (open-ended when no <c>to</c> was given) and optional filters.</summary>
public sealed record ForecastQuery(ApiRange Range, string? Model, string? Series);

/// <summary>
/// Answers <c>/anomalies</c> and <c>/forecast</c> from the stored <c>anomaly_event</c> and <c>forecast_point</c>
/// points, read by <see cref="StoredEventReader"/> (shared with the efficiency report). Both are admin-only: anomalies and
/// forecasts describe shared GPUs and models, not one tenant's use of them.
/// </summary>
public sealed class AnomalyForecastReader
{
    /// <summary>The severities, least severe first, as their tag values.</summary>
    public static readonly IReadOnlyList<string> Severities = [.. Enum.GetValues<AnomalySeverity>().Order().Select(SeverityTag)];

    /// <summary>The entity kinds the detectors write.</summary>
    public static readonly IReadOnlyList<string> EntityKinds = ["gpu", "model", "pool"];

    private static readonly ApiProblem AnomaliesForbidden = ApiProblems.AdminOnly(
        "Anomalies are admin-only",
        "Anomaly events describe shared GPUs, models and pools, not one tenant's use of them, so a tenant-scoped token cannot read /api/v1/anomalies.");

    private static readonly ApiProblem ForecastForbidden = ApiProblems.AdminOnly(
        "Forecasts are admin-only",
        "Forecasts of demand, GPUs needed and idle capacity describe shared models and pools, not one tenant's use of them, so a tenant-scoped token cannot read /api/v1/forecast.");

    private readonly ITimeSeriesStore _store;
    private readonly AnalyticsApiOptions _options;

    public AnomalyForecastReader(ITimeSeriesStore store, IOptions<AnalyticsApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _options = options.Value;
    }

    /// <summary>The tag value of a severity: <c>info</c>, <c>warning</c>, <c>critical</c>.</summary>
    public static string SeverityTag(AnomalySeverity severity) => StoredEventReader.SeverityTag(severity);

    /// <summary>The events in [from, to) at or above the minimum severity that match the filters, newest first.</summary>
    public async Task<ApiOutcome<AnomalyResponse>> AnomaliesAsync(AnomalyQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            return new(null, AnomaliesForbidden);
        }

        IReadOnlyList<AnomalyEvent> events = await StoredEventReader.ReadAnomaliesAsync(
            _store, new AnomalySelection(query.From, query.To, query.MinimumSeverity, query.EntityKind, query.Entity, query.Detector, query.Series), cancellationToken);
        if (TooMany(events.Count, "Ask for a shorter range, a higher severity or a filter (entityKind, entity, detector, series).") is ApiProblem tooMany)
        {
            return new(null, tooMany);
        }

        AnomalyRow[] newestFirst = [.. events.Select(e => new AnomalyRow
        {
            Time = e.Time,
            Severity = SeverityTag(e.Severity),
            Detector = e.Detector,
            EntityKind = e.EntityKind,
            Entity = e.Entity,
            Series = e.Series,
            Value = e.Value,
            Score = e.Score,
            ExpectedValue = e.ExpectedValue,
            LowerBound = e.LowerBound,
            UpperBound = e.UpperBound,
            Magnitude = e.Magnitude,
        })];
        return new(
            new AnomalyResponse
            {
                From = query.From,
                To = query.To,
                Severity = SeverityTag(query.MinimumSeverity),
                EntityKind = query.EntityKind,
                Entity = query.Entity,
                Detector = query.Detector,
                Series = query.Series,
                Count = newestFirst.Length,
                Events = newestFirst,
            },
            null);
    }

    /// <summary>
    /// The latest issued forecast of each (model, series) with points in the range (<see cref="StoredEventReader.ReadLatestForecastsAsync"/>).
    /// </summary>
    public async Task<ApiOutcome<ForecastResponse>> ForecastAsync(ForecastQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            return new(null, ForecastForbidden);
        }

        IReadOnlyList<StoredForecast> stored = await StoredEventReader.ReadLatestForecastsAsync(_store, query.Range.From, query.Range.To, query.Model, query.Series, cancellationToken);
        int count = stored.Sum(f => f.Points.Count);
        if (TooMany(count, "Ask for a shorter range, one model or one series.") is ApiProblem tooMany)
        {
            return new(null, tooMany);
        }

        ForecastRow[] forecasts = [.. stored.Select(f => new ForecastRow
        {
            Model = f.Model,
            Series = f.Series,
            Pool = f.Pool,
            Method = f.Method,
            IssuedAt = f.IssuedAt,
            Points = [.. f.Points.Select(p => new ForecastValue { Time = p.Time, Value = p.Value, LowerBound = p.LowerBound, UpperBound = p.UpperBound })],
        })];
        return new(
            new ForecastResponse
            {
                From = query.Range.From,
                To = query.Range.OpenEnded ? null : query.Range.To,
                Model = query.Model,
                Series = query.Series,
                Count = count,
                Forecasts = forecasts,
            },
            null);
    }

    private ApiProblem? TooMany(int rows, string advice) => ApiProblems.TooMany(rows, _options.MaxRows, advice);
}
