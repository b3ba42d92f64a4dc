using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Reads the tokens each model served per tenant in a window from the stored inference windows, summed in the store.
/// Request logs, imported request logs and vLLM counters can all describe the same traffic, so each model's usage
/// comes from one source (<see cref="OneSource"/>): <c>request_log</c> where the model has any in the range read (windows
/// without a source count as request logs), else <c>request_log_import</c> (history written by the collector's
/// <c>import-requests</c> verb), else the others (<c>vllm</c>).
/// </summary>
public static class TokenUsageReader
{
    public const string PreferredSource = InferenceWindowSources.RequestLog;

    /// <summary>The source of windows written by the collector's <c>import-requests</c> verb.</summary>
    public const string ImportedSource = InferenceWindowSources.RequestLogImport;

    public static async Task<IReadOnlyList<TokenUsage>> ReadAsync(ITimeSeriesStore store, DateTimeOffset windowStart, DateTimeOffset windowEnd, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Sum(Fields.RequestCount, "requests")
            .Mean(Fields.LatencyP50Ms, "p50").Mean(Fields.LatencyP95Ms, "p95")
            .Between(windowStart, windowEnd)
            .GroupBy(Tags.Model, Tags.Tenant, Tags.Source)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var usages = new List<TokenUsage>();
        foreach (IGrouping<string, ResultSeries> model in result.Series.GroupBy(s => s.Tags[Tags.Model], StringComparer.Ordinal))
        {
            foreach (ResultSeries series in OneSource(model))
            {
                ResultRow row = series.Rows[0];
                string tenant = series.Tags[Tags.Tenant];
                usages.Add(new TokenUsage(model.Key, tenant.Length == 0 ? null : tenant, (long)row[0].Number, (long)row[1].Number, (long)row[2].Number)
                {
                    LatencyP50Ms = row[3].IsNull ? null : row[3].Number,
                    LatencyP95Ms = row[4].IsNull ? null : row[4].Number,
                });
            }
        }

        return usages;
    }

    /// <summary>
    /// Of one model's series (grouped by <see cref="Tags.Source"/>), those of the most preferred source present: live
    /// request logs (or no source), else imported request logs, else every other source. An imported window is
    /// therefore never added to a live or vLLM window of the same traffic.
    /// </summary>
    internal static IEnumerable<ResultSeries> OneSource(IEnumerable<ResultSeries> model)
    {
        List<ResultSeries> series = [.. model];
        int best = series.Count == 0 ? 0 : series.Min(s => Rank(s.Tags[Tags.Source]));
        return series.Where(s => Rank(s.Tags[Tags.Source]) == best);
    }

    private static int Rank(string source) =>
        source.Length == 0 || string.Equals(source, PreferredSource, StringComparison.Ordinal) ? 0
        : string.Equals(source, ImportedSource, StringComparison.Ordinal) ? 1
        : 2;
}
