using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Energy;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Signals;

/// <summary>
/// Reads the signals the anomaly detectors and rules look at, aggregated in the store: per-GPU minutes (mean power,
/// utilization or graphics activity, the last Xid code, the model it served), per-model tokens per minute, and
/// per-model computed windows (cost per 1M tokens, utilization).
/// </summary>
public static class SignalReader
{
    /// <summary>
    /// Per-GPU minutes from the raw samples or, with <c>gpu_minute</c>, the 1-minute rollup. Only the fleet's own
    /// samples are read: samples bound to a tenant at ingest (a <c>tenant</c> tag) never feed the shared GPUs' signals.
    /// </summary>
    public static async Task<IReadOnlyList<GpuSignal>> ReadGpusAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, Func<string, string?> poolModel, string measurement = Measurements.GpuSample, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(poolModel);
        TimeSeriesQuery query = GpuReadingQuery.Build(measurement, TimeSpan.FromMinutes(1), from, to, Fields.XidErrors,
            Tags.GpuUuid, Tags.Node, Tags.Pool, Tags.ServedModel, Tags.Pod, Tags.Tenant);
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var gpus = new List<GpuSignal>();
        foreach (IGrouping<(string Uuid, string Node), ResultSeries> gpu in result.Series.Where(s => s.Tags[Tags.Tenant].Length == 0).GroupBy(s => (s.Tags[Tags.GpuUuid], s.Tags[Tags.Node])))
        {
            var minutes = new List<GpuMinute>();
            foreach (ResultSeries series in gpu)
            {
                string? model = series.Tags[Tags.Pod].Length == 0 ? null : NullIfEmpty(series.Tags[Tags.ServedModel]) ?? poolModel(series.Tags[Tags.Pool]);
                foreach (ResultRow row in series.Rows)
                {
                    double? utilization = row[2].IsNull ? row[1].AsDouble() : row[2].Number * 100;
                    minutes.Add(new GpuMinute(row.Time, row[0].AsDouble(), utilization, model, row[3].IsNull ? null : (long)row[3].Number));
                }
            }

            minutes.Sort((a, b) => a.Time.CompareTo(b.Time));
            gpus.Add(new GpuSignal(gpu.Key.Uuid, gpu.Key.Node, minutes));
        }

        return gpus;
    }

    /// <summary>Tokens per minute per model, from request logs where the model has any, else from vLLM counters.</summary>
    public static Task<IReadOnlyList<ModelTokenSignal>> ReadTokensAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        ReadPerMinuteAsync(store, from, to, [Fields.PromptTokens, Fields.CompletionTokens], cancellationToken);

    /// <summary>Requests per minute per model, from the same one source per model as the tokens.</summary>
    public static Task<IReadOnlyList<ModelTokenSignal>> ReadRequestsAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        ReadPerMinuteAsync(store, from, to, [Fields.RequestCount], cancellationToken);

    /// <summary>Each model's tokens per facility joule, window by window (windows with energy only).</summary>
    public static async Task<IReadOnlyList<(string Model, IReadOnlyList<(DateTimeOffset WindowStart, double TokensPerJoule)> Windows)>> ReadTokensPerJouleAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, TimeSpan windowLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.CostWindow)
            .Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion").Sum(Fields.FacilityEnergyJoules, "joules")
            .Between(from, to)
            .WhereTag(Tags.Window, CostWindow.WindowTag(windowLength))
            .GroupByTime(windowLength)
            .GroupBy(Tags.Model)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var models = new List<(string, IReadOnlyList<(DateTimeOffset, double)>)>();
        foreach (ResultSeries series in result.Series.Where(s => s.Tags.TryGetValue(Tags.Model, out string? m) && m.Length > 0))
        {
            var windows = new List<(DateTimeOffset, double)>();
            foreach (ResultRow row in series.Rows)
            {
                double joules = row[2].IsNull ? 0 : row[2].Number;
                if (joules > 0)
                {
                    windows.Add((row.Time, ((row[0].IsNull ? 0 : row[0].Number) + (row[1].IsNull ? 0 : row[1].Number)) / joules));
                }
            }

            models.Add((series.Tags[Tags.Model], windows));
        }

        return models;
    }

    private static async Task<IReadOnlyList<ModelTokenSignal>> ReadPerMinuteAsync(
        ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, string[] summed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQueryBuilder builder = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow);
        foreach (string field in summed)
        {
            builder.Sum(field, field);
        }

        TimeSeriesQuery query = builder
            .Between(from, to)
            .GroupByTime(TimeSpan.FromMinutes(1))
            .GroupBy(Tags.Model, Tags.Source)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var models = new List<ModelTokenSignal>();
        foreach (IGrouping<string, ResultSeries> model in result.Series.GroupBy(s => s.Tags[Tags.Model], StringComparer.Ordinal))
        {
            TimedValue[] perMinute = [.. TokenUsageReader.OneSource(model)
                .SelectMany(s => s.Rows)
                .Select(r => new TimedValue(r.Time, Enumerable.Range(0, summed.Length).Sum(i => r[i].IsNull ? 0 : r[i].Number)))
                .OrderBy(v => v.Time)];
            models.Add(new ModelTokenSignal(model.Key, perMinute));
        }

        return models;
    }

    /// <summary>Each model's computed windows in time order: cost per 1M tokens and utilization, where it served tokens.</summary>
    public static async Task<IReadOnlyList<ModelWindowSignal>> ReadModelWindowsAsync(ITimeSeriesStore store, DateTimeOffset from, DateTimeOffset to, TimeSpan windowLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.CostWindow)
            .Sum(Fields.CostUsd, "cost").Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion")
            .Sum(Fields.UtilizedGpuHours, "utilized").Sum(Fields.GpuHours, "hours")
            .Between(from, to)
            .WhereTag(Tags.Window, CostWindow.WindowTag(windowLength))
            .GroupByTime(windowLength)
            .GroupBy(Tags.Model)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        var models = new List<ModelWindowSignal>();
        foreach (ResultSeries series in result.Series.Where(s => s.Tags.TryGetValue(Tags.Model, out string? m) && m.Length > 0))
        {
            var windows = new List<(DateTimeOffset, double, double)>();
            foreach (ResultRow row in series.Rows)
            {
                double tokens = (row[1].IsNull ? 0 : row[1].Number) + (row[2].IsNull ? 0 : row[2].Number);
                double hours = row[4].IsNull ? 0 : row[4].Number;
                if (tokens > 0 && hours > 0)
                {
                    windows.Add((row.Time, row[0].Number / tokens * 1e6, row[3].Number / hours * 100));
                }
            }

            models.Add(new ModelWindowSignal(series.Tags[Tags.Model], windows));
        }

        return models;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
