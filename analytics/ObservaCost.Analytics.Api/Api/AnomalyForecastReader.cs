using Microsoft.Extensions.Options;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Api;

/// <summary>What <c>/anomalies</c> asks for: a range, a minimum severity and optional tag filters.</summary>
public sealed record AnomalyQuery(DateTimeOffset From, DateTimeOffset To, AnomalySeverity MinimumSeverity, string? EntityKind, string? Entity, string? Detector, string? Series);

/// <summary>What <c>/forecast</c> asks for: a range (open-ended when no <c>to</c> was given) and optional filters.</summary>
public sealed record ForecastQuery(ApiRange Range, string? Model, string? Series);

/// <summary>
/// Answers <c>/anomalies</c> and <c>/forecast</c> from the stored <c>anomaly_event</c> and <c>forecast_point</c>
/// points (raw fields grouped by their tags, on InfluxDB or the embedded store). Both are admin-only: anomalies and
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
    public static string SeverityTag(AnomalySeverity severity) => severity.ToString().ToLowerInvariant();

    /// <summary>The events in [from, to) at or above the minimum severity that match the filters, newest first.</summary>
    public async Task<ApiOutcome<AnomalyResponse>> AnomaliesAsync(AnomalyQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            return new(null, AnomaliesForbidden);
        }

        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.AnomalyEvent)
            .Field(Fields.Score).Field(Fields.Value).Field(Fields.ExpectedValue).Field(Fields.LowerBound).Field(Fields.UpperBound).Field(Fields.Magnitude)
            .Between(query.From, query.To)
            .GroupBy(Tags.Detector, Tags.Entity, Tags.EntityKind, Tags.Series, Tags.Severity);
        if (query.MinimumSeverity > AnomalySeverity.Info)
        {
            builder.WhereTagIn(Tags.Severity, [.. Enum.GetValues<AnomalySeverity>().Where(s => s >= query.MinimumSeverity).Select(SeverityTag)]);
        }

        Filter(builder, Tags.EntityKind, query.EntityKind);
        Filter(builder, Tags.Entity, query.Entity);
        Filter(builder, Tags.Detector, query.Detector);
        Filter(builder, Tags.Series, query.Series);
        QueryResult result = await _store.QueryAsync(builder.Build(), cancellationToken);
        var events = new List<AnomalyRow>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                if (Number(series, row, Fields.Value) is not double value || Number(series, row, Fields.Score) is not double score)
                {
                    continue; // not an anomaly event: the schema always writes both
                }

                events.Add(new AnomalyRow
                {
                    Time = row.Time,
                    Severity = Tag(series, Tags.Severity) ?? string.Empty,
                    Detector = Tag(series, Tags.Detector) ?? string.Empty,
                    EntityKind = Tag(series, Tags.EntityKind) ?? string.Empty,
                    Entity = Tag(series, Tags.Entity) ?? string.Empty,
                    Series = Tag(series, Tags.Series) ?? string.Empty,
                    Value = value,
                    Score = score,
                    ExpectedValue = Number(series, row, Fields.ExpectedValue),
                    LowerBound = Number(series, row, Fields.LowerBound),
                    UpperBound = Number(series, row, Fields.UpperBound),
                    Magnitude = Number(series, row, Fields.Magnitude),
                });
            }
        }

        if (TooMany(events.Count, "Ask for a shorter range, a higher severity or a filter (entityKind, entity, detector, series).") is ApiProblem tooMany)
        {
            return new(null, tooMany);
        }

        AnomalyRow[] newestFirst = [.. events
            .OrderByDescending(e => e.Time)
            .ThenBy(e => e.EntityKind, StringComparer.Ordinal).ThenBy(e => e.Entity, StringComparer.Ordinal)
            .ThenBy(e => e.Series, StringComparer.Ordinal).ThenBy(e => e.Detector, StringComparer.Ordinal)];
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
    /// The latest issued forecast of each (model, series) with points in the range: its points are those with the
    /// greatest <c>issued_at_unix_s</c> among the (model, series)'s points in the range; older issues are left out.
    /// </summary>
    public async Task<ApiOutcome<ForecastResponse>> ForecastAsync(ForecastQuery query, ApiCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            return new(null, ForecastForbidden);
        }

        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.ForecastPoint)
            .Field(Fields.IssuedAtUnixSeconds).Field(Fields.Value).Field(Fields.LowerBound).Field(Fields.UpperBound)
            .Between(query.Range.From, query.Range.To)
            .GroupBy(Tags.Model, Tags.Series, Tags.Method, Tags.Pool);
        Filter(builder, Tags.Model, query.Model);
        Filter(builder, Tags.Series, query.Series);
        QueryResult result = await _store.QueryAsync(builder.Build(), cancellationToken);

        var points = new List<(string? Model, string Series, string? Pool, string Method, long IssuedAt, ForecastValue Point)>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                if (Number(series, row, Fields.IssuedAtUnixSeconds) is not double issuedAt || Number(series, row, Fields.Value) is not double value)
                {
                    continue; // not a forecast point: the schema always writes both
                }

                points.Add((Tag(series, Tags.Model), Tag(series, Tags.Series) ?? string.Empty, Tag(series, Tags.Pool), Tag(series, Tags.Method) ?? string.Empty, (long)issuedAt, new ForecastValue
                {
                    Time = row.Time,
                    Value = value,
                    LowerBound = Number(series, row, Fields.LowerBound),
                    UpperBound = Number(series, row, Fields.UpperBound),
                }));
            }
        }

        var forecasts = new List<ForecastRow>();
        int count = 0;
        foreach (var modelSeries in points.GroupBy(p => (p.Model, p.Series)).OrderBy(g => g.Key.Model, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal))
        {
            long latest = modelSeries.Max(p => p.IssuedAt);
            foreach (var issue in modelSeries.Where(p => p.IssuedAt == latest).GroupBy(p => (p.Method, p.Pool)).OrderBy(g => g.Key.Method, StringComparer.Ordinal).ThenBy(g => g.Key.Pool, StringComparer.Ordinal))
            {
                ForecastValue[] hours = [.. issue.Select(p => p.Point).OrderBy(p => p.Time)];
                count += hours.Length;
                if (TooMany(count, "Ask for a shorter range, one model or one series.") is ApiProblem tooMany)
                {
                    return new(null, tooMany);
                }

                forecasts.Add(new ForecastRow
                {
                    Model = modelSeries.Key.Model,
                    Series = modelSeries.Key.Series,
                    Pool = issue.Key.Pool,
                    Method = issue.Key.Method,
                    IssuedAt = DateTimeOffset.FromUnixTimeSeconds(latest),
                    Points = hours,
                });
            }
        }

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

    private static void Filter(TimeSeriesQueryBuilder builder, string tag, string? value)
    {
        if (value is not null)
        {
            builder.WhereTag(tag, value);
        }
    }

    private static string? Tag(ResultSeries series, string key) =>
        series.Tags.TryGetValue(key, out string? value) && value.Length > 0 ? value : null;

    private static double? Number(ResultSeries series, ResultRow row, string field) => row[series.ColumnIndex(field)].AsDouble();
}
