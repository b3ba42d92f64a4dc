using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Attribution;

/// <summary>
/// The highest sustained tokens/s per GPU each model reached in the stored windows: per window, the model's tokens
/// over its GPU-seconds, the maximum over the lookback before <c>before</c>. Summed in the store.
/// </summary>
public static class CapacityReader
{
    public static async Task<Dictionary<string, double>> ReadObservedPeaksAsync(
        ITimeSeriesStore store, DateTimeOffset before, TimeSpan lookback, TimeSpan windowLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.CostWindow)
            .Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Sum(Fields.GpuHours, "hours")
            .Between(before - lookback, before)
            .WhereTag(Tags.Window, CostWindow.WindowTag(windowLength))
            .GroupByTime(windowLength)
            .GroupBy(Tags.Model)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var peaks = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (ResultSeries series in result.Series)
        {
            string model = series.Tags.TryGetValue(Tags.Model, out string? m) ? m : string.Empty;
            if (model.Length == 0)
            {
                continue;
            }

            foreach (ResultRow row in series.Rows)
            {
                double gpuHours = row[2].IsNull ? 0 : row[2].Number;
                if (gpuHours > 0)
                {
                    double rate = ((row[0].IsNull ? 0 : row[0].Number) + (row[1].IsNull ? 0 : row[1].Number)) / (gpuHours * 3600);
                    peaks[model] = Math.Max(peaks.GetValueOrDefault(model), rate);
                }
            }
        }

        return peaks;
    }
}
