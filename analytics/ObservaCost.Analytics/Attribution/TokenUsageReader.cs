using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// Reads the tokens each model served per tenant in a window from the stored inference windows, summed in the store.
/// Request logs and vLLM counters can both describe the same traffic, so each model's usage comes from one source:
/// <c>request_log</c> where the model has any, else <c>vllm</c> (windows without a source count as request logs).
/// </summary>
public static class TokenUsageReader
{
    public const string PreferredSource = "request_log";

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
            bool hasRequestLogs = model.Any(s => IsRequestLog(s.Tags[Tags.Source]));
            foreach (ResultSeries series in model.Where(s => IsRequestLog(s.Tags[Tags.Source]) == hasRequestLogs))
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

    internal static bool IsRequestLog(string source) => source.Length == 0 || string.Equals(source, PreferredSource, StringComparison.Ordinal);
}
