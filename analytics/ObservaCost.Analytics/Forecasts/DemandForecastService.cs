using Microsoft.Extensions.Logging;
using ObservaCost.Analytics.Attribution;
using ObservaCost.Analytics.Planning;
using ObservaCost.Analytics.Pricing;
using ObservaCost.Analytics.Reading;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Forecasts;

/// <summary>The demand forecast. Bound from <c>Analytics:Forecast</c>.</summary>
public sealed class ForecastOptions
{
    public const string SectionName = "Analytics:Forecast";

    /// <summary>
    /// Hours of tokens-per-hour history the forecasters are fitted on. Default 35 days: the global model trains on
    /// histories of at least 337 + 2 × <see cref="HorizonHours"/> hours (673 with the default horizon).
    /// </summary>
    public TimeSpan History { get; set; } = TimeSpan.FromDays(35);

    /// <summary>
    /// The global model is retrained when a forecast's first hour is this long after the end of its training
    /// histories (or before it); in between, the stored model serves. 1 hour to 366 days. Default 7 days.
    /// </summary>
    public TimeSpan RetrainInterval { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Where the global model is kept (<c>forecast-model.zip</c> and <c>forecast-model.json</c>); relative to the working directory. Default <c>data/forecast-model</c>.</summary>
    public string ModelDirectory { get; set; } = "data/forecast-model";

    /// <summary>The longest <see cref="HorizonHours"/> the options accept: 90 days.</summary>
    public const int MaxHorizonHours = 24 * 90;

    /// <summary>Hours ahead, 1 to <see cref="MaxHorizonHours"/>. Default 168 (7 days).</summary>
    public int HorizonHours { get; set; } = 168;

    /// <summary>The share of a GPU's peak tokens/s that capacity is planned for. Default 0.7.</summary>
    public double TargetUtilization { get; set; } = 0.7;

    /// <summary>Fewer hours of history than this and a model is not forecast. Default 48.</summary>
    public int MinimumHistoryHours { get; set; } = 48;
}

/// <summary>
/// Forecasts each model's tokens per hour for the next <see cref="ForecastOptions.HorizonHours"/> with bounds — the
/// global ensemble (<see cref="GlobalForecastModels"/>: one ML.NET FastTree model across every model's history with
/// seasonal naive, Holt-Winters and log-SSA, retrained every <see cref="ForecastOptions.RetrainInterval"/>) where the
/// history is long enough; otherwise the combination of seasonal naive and log-SSA with two weeks of history or
/// more, seasonal naive (24 h) with less; seasonal naive when training failed with no previous model. The method tag
/// of every point says which served. From the model's peak tokens/s per GPU at the target utilization,
/// the GPUs needed per hour and the idle GPU-hours and dollars the current fleet would carry. Written as
/// <see cref="ForecastPoint"/>s: <c>tokens_per_hour</c>, <c>gpus_needed</c> (upper bound: GPUs for the
/// upper bound of the tokens), <c>idle_gpu_hours</c>, <c>idle_cost_usd</c>. A forecast replaces every forecast point from its first hour on
/// (to <see cref="ForecastOptions.MaxHorizonHours"/> later, the furthest any earlier forecast can reach): a model that
/// lost its fleet or its traffic, or a shorter horizon, leaves no point of an earlier forecast behind. Hours before
/// the first are kept: they are what earlier forecasts said about hours now past.
/// </summary>
public sealed partial class DemandForecastService(
    ITimeSeriesStore store,
    PricingFile pricing,
    AnalyticsWindowOptions windows,
    ForecastOptions options,
    GlobalForecastModels models,
    ILogger<DemandForecastService> logger)
{
    /// <summary>The method tag of forecasts the previous global model served because retraining failed.</summary>
    public const string PreviousModelMethod = GlobalEnsemble.Name + ", previous model";

    /// <summary>The method tag of forecasts seasonal naive served because training failed and there was no previous model.</summary>
    public static readonly string SeasonalNaiveFallbackMethod = HourlyForecasters.SeasonalNaive().Name + ", training failed";

    public const string TokensPerHour = "tokens_per_hour";
    public const string GpusNeeded = "gpus_needed";
    public const string IdleGpuHours = "idle_gpu_hours";
    public const string IdleCostUsd = "idle_cost_usd";

    /// <summary>Forecasts from the hours before <paramref name="issuedAt"/> (rounded down to the hour) and writes the points.</summary>
    public async Task<IReadOnlyList<ForecastPoint>> ForecastAndWriteAsync(DateTimeOffset issuedAt, CancellationToken cancellationToken = default)
    {
        var firstHour = new DateTimeOffset(issuedAt.UtcTicks - (issuedAt.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        Dictionary<string, double[]> history = await ReadHourlyTokensAsync(firstHour - options.History, firstHour, cancellationToken);
        IReadOnlyDictionary<string, ModelFleet> fleets = await ReadModelFleetsAsync(store, pricing, windows.WindowLength, firstHour, cancellationToken);
        var observedHistories = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach ((string model, double[] hours) in history)
        {
            int first = Array.FindIndex(hours, h => h > 0);
            int observed = first < 0 ? 0 : hours.Length - first;
            if (observed < options.MinimumHistoryHours)
            {
                LogTooShort(logger, model, observed, options.MinimumHistoryHours);
                continue;
            }

            observedHistories[model] = hours[first..];
        }

        ForecastModelChoice choice = observedHistories.Count == 0
            ? new ForecastModelChoice(null, ForecastModelServed.Local)
            : await models.SelectAsync(observedHistories, firstHour, cancellationToken);
        var points = new List<ForecastPoint>();
        foreach ((string model, double[] fit) in observedHistories)
        {
            (string method, ForecastResult forecast) = Forecast(choice, fit);
            LogServed(logger, model, method);
            for (int h = 0; h < options.HorizonHours; h++)
            {
                points.Add(Point(model, method, TokensPerHour, firstHour.AddHours(h), issuedAt, Math.Max(0, forecast.Point[h]), Math.Max(0, forecast.LowerBound[h]), Math.Max(0, forecast.UpperBound[h])));
            }

            if (!fleets.TryGetValue(model, out ModelFleet? modelFleet))
            {
                LogNoFleet(logger, model);
                continue;
            }

            var demand = new DemandForecast(model, firstHour, forecast.Point, forecast.LowerBound, forecast.UpperBound);
            foreach (CapacityHour hour in CapacityPlanner.Plan(demand, modelFleet, options.TargetUtilization))
            {
                points.Add(Point(model, method, GpusNeeded, hour.Hour, issuedAt, hour.GpusNeeded, null, hour.GpusNeededAtUpperBound));
                points.Add(Point(model, method, IdleGpuHours, hour.Hour, issuedAt, hour.ProjectedIdleGpuHours, null, null));
                points.Add(Point(model, method, IdleCostUsd, hour.Hour, issuedAt, hour.ProjectedIdleCostUsd, null, null));
            }
        }

        await WindowWriter.ReplaceRangeAsync(store, Measurements.ForecastPoint, firstHour, firstHour.AddHours(ForecastOptions.MaxHorizonHours), points, cancellationToken);
        LogForecast(logger, issuedAt, history.Count, points.Count);
        return points;
    }

    /// <summary>
    /// The forecast of one model's observed hours and the method tag that says which model served it: the global
    /// ensemble when there is one and the history is as long as the global model needs (<see cref="GlobalTreeForecaster.MinimumHistory"/>);
    /// seasonal naive when training failed without a previous model; otherwise <see cref="ChooseForecaster"/>.
    /// </summary>
    private (string Method, ForecastResult Forecast) Forecast(ForecastModelChoice choice, double[] history)
    {
        if (choice.Model is StoredForecastModel global && history.Length >= GlobalTreeForecaster.MinimumHistory)
        {
            ForecastResult result = GlobalEnsemble.Forecast(global.Fit, [history], HourlyForecasters.Singles())[0];
            return (choice.Served == ForecastModelServed.PreviousGlobalEnsemble ? PreviousModelMethod : GlobalEnsemble.Name, result);
        }

        if (choice.Served == ForecastModelServed.SeasonalNaiveFallback)
        {
            return (SeasonalNaiveFallbackMethod, HourlyForecasters.SeasonalNaive().Forecast(history, options.HorizonHours));
        }

        IForecaster forecaster = ChooseForecaster(history);
        return (forecaster.Name, forecaster.Forecast(history, options.HorizonHours));
    }

    /// <summary>
    /// Each model's fleet at <paramref name="at"/>: the GPUs of its last window before <paramref name="at"/> (GPU-hours /
    /// window hours, rounded), its peak sustained tokens/s per GPU (configured in the pricing file, else the highest
    /// observed over the pricing file's capacity lookback) and its cost per GPU-hour in that window. Models without
    /// GPU-hours in that window or without a peak are left out: there is no capacity to plan with.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, ModelFleet>> ReadModelFleetsAsync(
        ITimeSeriesStore store, PricingFile pricing, TimeSpan windowLength, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(pricing);
        IReadOnlyList<CostWindow> fleet = await StoredWindowReader.ReadCostAsync(store, new WindowSelection
        {
            From = at - windowLength,
            To = at,
            GroupBy = [Tags.Model],
            SourceWindow = windowLength,
        }, cancellationToken);
        Dictionary<string, double> peaks = await CapacityReader.ReadObservedPeaksAsync(store, at, pricing.CapacityLookback, windowLength, cancellationToken);
        foreach (KeyValuePair<string, double> configured in pricing.MaxTokensPerSecondPerGpu)
        {
            peaks[configured.Key] = configured.Value;
        }

        var fleets = new Dictionary<string, ModelFleet>(StringComparer.Ordinal);
        foreach (CostWindow current in fleet)
        {
            if (current.Model is string model && current.GpuHours > 0 && peaks.TryGetValue(model, out double rate) && rate > 0)
            {
                fleets[model] = new ModelFleet(model, (int)Math.Round(current.GpuHours / windowLength.TotalHours), rate, current.CostUsd / current.GpuHours);
            }
        }

        return fleets;
    }

    /// <summary>
    /// With more than two weeks of history, the mean of seasonal naive and log-SSA (window 168) — the best on M4
    /// Hourly (docs/accuracy.md). Whether the naive part repeats the last day (24) or the last week (168, so a Monday
    /// is not forecast as a copy of Sunday) is decided on the history itself when it holds a week more than the fit
    /// needs: both are fitted without the last week and the one with the lower sMAPE on that week is used. With two
    /// weeks or less, seasonal naive (24).
    /// </summary>
    public static IForecaster ChooseForecaster(ReadOnlySpan<double> history)
    {
        const int Week = HourlyForecasters.WeeklySeason;
        if (history.Length <= 2 * Week)
        {
            return HourlyForecasters.SeasonalNaive();
        }

        IForecaster daily = HourlyForecasters.Combined();
        IForecaster weekly = new CombinedForecaster("combined(seasonal-naive m=168, log+ssa)", new SeasonalNaiveForecaster(Week), HourlyForecasters.Ssa());
        if (history.Length <= 3 * Week)
        {
            return daily;
        }

        ReadOnlySpan<double> fit = history[..^Week];
        ReadOnlySpan<double> holdout = history[^Week..];
        return Smape(weekly.Forecast(fit, Week).Point, holdout) < Smape(daily.Forecast(fit, Week).Point, holdout) ? weekly : daily;
    }

    private static double Smape(double[] forecast, ReadOnlySpan<double> actual)
    {
        double sum = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double denominator = Math.Abs(actual[i]) + Math.Abs(forecast[i]);
            sum += denominator > 0 ? 200 * Math.Abs(actual[i] - forecast[i]) / denominator : 0;
        }

        return sum / actual.Length;
    }

    private static ForecastPoint Point(string model, string method, string series, DateTimeOffset time, DateTimeOffset issuedAt, double value, double? lower, double? upper) => new()
    {
        Time = time,
        Series = series,
        Model = model,
        Method = method,
        IssuedAt = issuedAt,
        Value = value,
        LowerBound = lower,
        UpperBound = upper,
    };

    /// <summary>Tokens per hour per model over [from, to), zeros for hours without traffic; one source per model.</summary>
    private async Task<Dictionary<string, double[]>> ReadHourlyTokensAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.InferenceWindow)
            .Sum(Fields.PromptTokens, "prompt").Sum(Fields.CompletionTokens, "completion")
            .Between(from, to)
            .GroupByTime(TimeSpan.FromHours(1))
            .GroupBy(Tags.Model, Tags.Source)
            .Build();
        QueryResult result = await store.QueryAsync(query, cancellationToken);
        int hours = (int)(to - from).TotalHours;
        var models = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (IGrouping<string, ResultSeries> model in result.Series.GroupBy(s => s.Tags[Tags.Model], StringComparer.Ordinal))
        {
            double[] series = new double[hours];
            foreach (ResultRow row in TokenUsageReader.OneSource(model).SelectMany(s => s.Rows))
            {
                int index = (int)((row.Time - from).TotalHours);
                if (index >= 0 && index < hours)
                {
                    series[index] += (row[0].IsNull ? 0 : row[0].Number) + (row[1].IsNull ? 0 : row[1].Number);
                }
            }

            models[model.Key] = series;
        }

        return models;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Forecast issued at {IssuedAt:o}: {Models} models, {Points} points")]
    private static partial void LogForecast(ILogger logger, DateTimeOffset issuedAt, int models, int points);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Model {Model} has {Hours} hours of traffic, fewer than the {Minimum} a forecast needs")]
    private static partial void LogTooShort(ILogger logger, string model, int hours, int minimum);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Model {Model} forecast by {Method}")]
    private static partial void LogServed(ILogger logger, string model, string method);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Model {Model} has no GPUs or no measured tokens/s per GPU in the last window: tokens forecast only")]
    private static partial void LogNoFleet(ILogger logger, string model);
}
