using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Api;
using ObservaCost.Reporting.Charts;

namespace ObservaCost.Analytics.Web;

/// <summary>A view could not be answered (e.g. more rows than the API serves): the page says why, with the status.</summary>
public sealed class WebProblemException(ApiProblem problem) : Exception(problem?.Detail)
{
    public ApiProblem Problem { get; } = problem ?? throw new ArgumentNullException(nameof(problem));
}

/// <summary>
/// The views' reads, all through the API's readers as the caller (so a tenant token reads only its tenant's rows and
/// no idle capacity, exactly as the API answers it), and the formatting the views share.
/// </summary>
public static class WebData
{
    public static Task<IReadOnlyList<CostRow>> CostAsync(WebRequest request, TimeSpan? step, params string[] groupBy) =>
        ReadAsync<CostRow>(request, step, groupBy, (reader, query) => reader.CostAsync(query, request.Caller, request.Context.RequestAborted));

    public static Task<IReadOnlyList<IdleRow>> IdleAsync(WebRequest request, TimeSpan? step, params string[] groupBy) =>
        ReadAsync<IdleRow>(request, step, groupBy, (reader, query) => reader.IdleAsync(query, request.Caller, request.Context.RequestAborted));

    public static Task<IReadOnlyList<KpiRow>> KpisAsync(WebRequest request, WebPeriod period, TimeSpan? step, params string[] groupBy) =>
        ReadAsync<KpiRow>(request with { Period = period }, step, groupBy, (reader, query) => reader.KpisAsync(query, request.Caller, request.Context.RequestAborted));

    public static async Task<IReadOnlyList<AnomalyRow>> AnomaliesAsync(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        AnomalyForecastReader reader = request.Services.GetRequiredService<AnomalyForecastReader>();
        var query = new AnomalyQuery(request.Period.From, request.Period.To, Storage.Schema.AnomalySeverity.Info, null, null, null, null);
        return Check(await reader.AnomaliesAsync(query, request.Caller, request.Context.RequestAborted)).Events;
    }

    private static async Task<IReadOnlyList<TRow>> ReadAsync<TRow>(WebRequest request, TimeSpan? step, string[] groupBy, Func<AnalyticsApiReader, ApiQuery, Task<ApiOutcome<ApiResponse<TRow>>>> read)
    {
        ArgumentNullException.ThrowIfNull(request);
        AnalyticsApiReader reader = request.Services.GetRequiredService<AnalyticsApiReader>();
        var query = new ApiQuery(request.Period.From, request.Period.To, step, groupBy);
        return Check(await read(reader, query)).Rows;
    }

    private static T Check<T>(ApiOutcome<T> outcome) =>
        outcome.Problem is ApiProblem problem ? throw new WebProblemException(problem) : outcome.Response!;

    /// <summary>The bucket starts of the period, in order (a chart's x values and a table's rows).</summary>
    public static IReadOnlyList<DateTimeOffset> Buckets(WebPeriod period)
    {
        ArgumentNullException.ThrowIfNull(period);
        var buckets = new List<DateTimeOffset>();
        for (DateTimeOffset t = period.From; t < period.To; t += period.Step)
        {
            buckets.Add(t);
        }

        return buckets;
    }

    /// <summary>A bucket's label in tables: its UTC start.</summary>
    public static string Bucket(DateTimeOffset start) => start.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>US dollars per million tokens from summed cost and tokens; null without tokens.</summary>
    public static double? PerMillionTokens(double costUsd, long tokens) => tokens > 0 ? costUsd / tokens * 1e6 : null;

    public static string Usd(double? value) => value is double v ? v.ToString("$#,##0.00", CultureInfo.InvariantCulture) : "—";

    public static string Number(double? value, string format) => value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    /// <summary>
    /// One line per key over the buckets from the rows' summed values (a bucket without the key, or whose value is
    /// undefined, is a gap), and the same figures as a long table (bucket, key, the value's inputs, the value).
    /// </summary>
    public static LineSeries[] LinesPerKey<TRow>(
        IReadOnlyList<DateTimeOffset> buckets, IEnumerable<TRow> rows, Func<TRow, DateTimeOffset> bucket, Func<TRow, string> key, Func<IReadOnlyList<TRow>, double?> value)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var byKey = rows.GroupBy(key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal);
        return [.. byKey.Select(group =>
        {
            Dictionary<DateTimeOffset, List<TRow>> perBucket = group.GroupBy(bucket).ToDictionary(g => g.Key, g => g.ToList());
            double[] values = [.. buckets.Select(b => perBucket.TryGetValue(b, out List<TRow>? inBucket) && value(inBucket) is double v ? v : double.NaN)];
            return new LineSeries(group.Key, buckets, values);
        })];
    }
}
