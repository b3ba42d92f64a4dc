using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Reading;

/// <summary>Which stored anomaly events to read: a range, a minimum severity and optional tag filters.</summary>
public sealed record AnomalySelection(
    DateTimeOffset From,
    DateTimeOffset To,
    AnomalySeverity MinimumSeverity = AnomalySeverity.Info,
    string? EntityKind = null,
    string? Entity = null,
    string? Detector = null,
    string? Series = null);

/// <summary>The latest issued forecast of one (model, series) and method and pool: its points oldest first.</summary>
public sealed record StoredForecast(string? Model, string Series, string? Pool, string Method, DateTimeOffset IssuedAt, IReadOnlyList<ForecastPoint> Points);

/// <summary>
/// Reads the stored <c>anomaly_event</c> and <c>forecast_point</c> points (raw fields grouped by their tags, on InfluxDB
/// or the embedded store): the one reader behind <c>/api/v1/anomalies</c>, <c>/api/v1/forecast</c> and the efficiency
/// report.
/// </summary>
public static class StoredEventReader
{
    /// <summary>The tag value of a severity: <c>info</c>, <c>warning</c>, <c>critical</c>.</summary>
    public static string SeverityTag(AnomalySeverity severity) => severity.ToString().ToLowerInvariant();

    /// <summary>The events in [from, to) at or above the minimum severity that match the filters, newest first.</summary>
    public static async Task<IReadOnlyList<AnomalyEvent>> ReadAnomaliesAsync(ITimeSeriesStore store, AnomalySelection selection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(selection);
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.AnomalyEvent)
            .Field(Fields.Score).Field(Fields.Value).Field(Fields.ExpectedValue).Field(Fields.LowerBound).Field(Fields.UpperBound).Field(Fields.Magnitude)
            .Between(selection.From, selection.To)
            .GroupBy(Tags.Detector, Tags.Entity, Tags.EntityKind, Tags.Series, Tags.Severity);
        if (selection.MinimumSeverity > AnomalySeverity.Info)
        {
            builder.WhereTagIn(Tags.Severity, [.. Enum.GetValues<AnomalySeverity>().Where(s => s >= selection.MinimumSeverity).Select(SeverityTag)]);
        }

        Filter(builder, Tags.EntityKind, selection.EntityKind);
        Filter(builder, Tags.Entity, selection.Entity);
        Filter(builder, Tags.Detector, selection.Detector);
        Filter(builder, Tags.Series, selection.Series);
        QueryResult result = await store.QueryAsync(builder.Build(), cancellationToken);
        var events = new List<AnomalyEvent>();
        foreach (ResultSeries series in result.Series)
        {
            foreach (ResultRow row in series.Rows)
            {
                if (Number(series, row, Fields.Value) is not double value || Number(series, row, Fields.Score) is not double score)
                {
                    continue; // not an anomaly event: the schema always writes both
                }

                events.Add(new AnomalyEvent
                {
                    Time = row.Time,
                    Severity = Enum.TryParse(Tag(series, Tags.Severity), ignoreCase: true, out AnomalySeverity severity) ? severity : AnomalySeverity.Info,
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

        return [.. events
            .OrderByDescending(e => e.Time)
            .ThenBy(e => e.EntityKind, StringComparer.Ordinal).ThenBy(e => e.Entity, StringComparer.Ordinal)
            .ThenBy(e => e.Series, StringComparer.Ordinal).ThenBy(e => e.Detector, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The latest issued forecast of each (model, series) with points in [from, to): its points are those with the
    /// greatest <c>issued_at_unix_s</c> among the (model, series)'s points in the range; older issues are left out.
    /// Ordered by model, series, method, pool.
    /// </summary>
    public static async Task<IReadOnlyList<StoredForecast>> ReadLatestForecastsAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, string? model = null, string? series = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.ForecastPoint)
            .Field(Fields.IssuedAtUnixSeconds).Field(Fields.Value).Field(Fields.LowerBound).Field(Fields.UpperBound)
            .Between(from, to)
            .GroupBy(Tags.Model, Tags.Series, Tags.Method, Tags.Pool);
        Filter(builder, Tags.Model, model);
        Filter(builder, Tags.Series, series);
        QueryResult result = await store.QueryAsync(builder.Build(), cancellationToken);

        var points = new List<ForecastPoint>();
        foreach (ResultSeries stored in result.Series)
        {
            foreach (ResultRow row in stored.Rows)
            {
                if (Number(stored, row, Fields.IssuedAtUnixSeconds) is not double issuedAt || Number(stored, row, Fields.Value) is not double value)
                {
                    continue; // not a forecast point: the schema always writes both
                }

                points.Add(new ForecastPoint
                {
                    Time = row.Time,
                    Model = Tag(stored, Tags.Model),
                    Series = Tag(stored, Tags.Series) ?? string.Empty,
                    Pool = Tag(stored, Tags.Pool),
                    Method = Tag(stored, Tags.Method) ?? string.Empty,
                    IssuedAt = DateTimeOffset.FromUnixTimeSeconds((long)issuedAt),
                    Value = value,
                    LowerBound = Number(stored, row, Fields.LowerBound),
                    UpperBound = Number(stored, row, Fields.UpperBound),
                });
            }
        }

        var forecasts = new List<StoredForecast>();
        foreach (var modelSeries in points.GroupBy(p => (p.Model, p.Series)).OrderBy(g => g.Key.Model, StringComparer.Ordinal).ThenBy(g => g.Key.Series, StringComparer.Ordinal))
        {
            DateTimeOffset latest = modelSeries.Max(p => p.IssuedAt);
            foreach (var issue in modelSeries.Where(p => p.IssuedAt == latest).GroupBy(p => (p.Method, p.Pool)).OrderBy(g => g.Key.Method, StringComparer.Ordinal).ThenBy(g => g.Key.Pool, StringComparer.Ordinal))
            {
                forecasts.Add(new StoredForecast(modelSeries.Key.Model, modelSeries.Key.Series, issue.Key.Pool, issue.Key.Method, latest, [.. issue.OrderBy(p => p.Time)]));
            }
        }

        return forecasts;
    }

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
