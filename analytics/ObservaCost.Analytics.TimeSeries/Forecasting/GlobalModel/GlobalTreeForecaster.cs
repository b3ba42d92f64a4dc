using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

/// <summary>Options of the global boosted-tree forecaster (one FastTree regression trained across all series).</summary>
public sealed record GlobalTreeOptions
{
    /// <summary>Steps forecast (direct multi-step: the step is a feature of one model).</summary>
    public int Horizon { get; init; } = 48;

    /// <summary>Seed of the ML context and of the trainer: the same input gives the same forecast.</summary>
    public int Seed { get; init; } = 1;

    public int NumberOfTrees { get; init; } = 300;

    public int NumberOfLeaves { get; init; } = 31;

    public double LearningRate { get; init; } = 0.1;

    public int MinimumExampleCountPerLeaf { get; init; } = 20;

    /// <summary>Hours between two training origins of a series (origins go back from the end of its history).</summary>
    public int OriginStepHours { get; init; } = 12;

    /// <summary>Training origins per series: a series contributes at most this many × <see cref="Horizon"/> rows.</summary>
    public int MaxOriginsPerSeries { get; init; } = 24;

    /// <summary>
    /// Weight each training row by the series' scale over its in-sample daily seasonal difference (mean |y(t) − y(t−24)|,
    /// MASE's denominator), clamped to [0.1, 10], so the loss weighs a series' errors as MASE does instead of as a
    /// share of its level.
    /// </summary>
    public bool WeightByMaseScale { get; init; } = true;

    /// <summary>
    /// The ensemble's weight choice minimises this × sMAPE/sMAPE(reference) + MASE/MASE(reference) on the validation
    /// split (<see cref="GlobalEnsemble.Fit"/>): 1 weighs both alike, 0 (the default: sMAPE has margin on M4 dev) chooses for MASE alone.
    /// </summary>
    public double WeightObjectiveSmapeShare { get; init; }

    /// <summary>Trainer threads (1: deterministic and polite on a shared machine).</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>
/// A global forecaster for hourly series: one FastTree regression learns from every series at once. Each row is
/// (series, forecast origin, step k): the features are the history scaled by the mean of its last 168 hours (so
/// series of any level share one model), the last 24 hours, the same hour on the 7 latest days that are known, the
/// same hour 1 and 2 weeks before, rolling mean/std/min/max of the last 24 hours, the change of the daily mean, the
/// step k, the target's position modulo 24 and 168 (hour of day and hour of week counted from the start of the
/// series: M4 Hourly has no timestamps, so the phase is relative to each series' first point) and the log of the
/// scale. The label is the scaled value k steps ahead minus the scaled seasonal-naive value for that hour, so the
/// trees learn corrections to seasonal naive (direct multi-step, no recursion).
/// </summary>
public static class GlobalTreeForecaster
{
    public const int Week = 168;

    /// <summary>Shortest history: two weeks plus one hour (the two-week lag of the first forecast step).</summary>
    public const int MinimumHistory = (2 * Week) + 1;

    public const int FeatureCount = 42;

    /// <summary>The feature the label is relative to: the same hour on the latest known day (seasonal naive, scaled).</summary>
    internal const int BaselineFeature = 24;

    public const string Name = "global boosted trees (FastTree)";

    /// <summary>Trains on every series with at least <see cref="MinimumHistory"/> + horizon points.</summary>
    /// <exception cref="InvalidOperationException">No series is long enough to give a training row.</exception>
    public static GlobalTreeModel Train(IReadOnlyList<double[]> histories, GlobalTreeOptions options)
    {
        ArgumentNullException.ThrowIfNull(histories);
        ArgumentNullException.ThrowIfNull(options);
        ForecastMath.EnsureHorizon(options.Horizon);
        var rows = new List<TrainingRow>();
        foreach (double[] series in histories)
        {
            for (int origin = 0; origin < options.MaxOriginsPerSeries; origin++)
            {
                int n = series.Length - options.Horizon - (origin * options.OriginStepHours);
                if (n < MinimumHistory)
                {
                    break;
                }

                ReadOnlySpan<double> history = series.AsSpan(0, n);
                double denominator = options.WeightByMaseScale ? SeasonalDifference(history) : 0;
                for (int k = 1; k <= options.Horizon; k++)
                {
                    var features = new float[FeatureCount];
                    double scale = Featurise(history, k, features);
                    float weight = denominator > 0 ? (float)Math.Clamp(scale / denominator, 0.1, 10) : 1;
                    rows.Add(new TrainingRow { Label = (float)(series[n - 1 + k] / scale) - features[BaselineFeature], Features = features, Weight = weight });
                }
            }
        }

        if (rows.Count == 0)
        {
            throw new InvalidOperationException($"No series has the {MinimumHistory + options.Horizon} points a training row needs.");
        }

        var context = new MLContext(options.Seed);
        IDataView data = context.Data.LoadFromEnumerable(rows);
        var trainer = context.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
        {
            NumberOfTrees = options.NumberOfTrees,
            NumberOfLeaves = options.NumberOfLeaves,
            LearningRate = options.LearningRate,
            MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
            NumberOfThreads = options.Threads,
            Seed = options.Seed,
            LabelColumnName = nameof(TrainingRow.Label),
            ExampleWeightColumnName = options.WeightByMaseScale ? nameof(TrainingRow.Weight) : null,
            FeatureColumnName = nameof(TrainingRow.Features),
        });
        ITransformer model = trainer.Fit(data);
        return new GlobalTreeModel(context, model, options.Horizon, rows.Count);
    }

    /// <summary>Fills <paramref name="features"/> for step <paramref name="k"/> after <paramref name="history"/>; returns the scale.</summary>
    internal static double Featurise(ReadOnlySpan<double> history, int k, Span<float> features)
    {
        int n = history.Length;
        double scale = 0;
        for (int i = n - Week; i < n; i++)
        {
            scale += Math.Abs(history[i]);
        }

        scale /= Week;
        if (!(scale > 0))
        {
            scale = 1;
        }

        int f = 0;
        for (int i = 0; i < 24; i++)
        {
            features[f++] = (float)(history[n - 1 - i] / scale);
        }

        int target = n - 1 + k;
        int firstDay = (k + 23) / 24;
        for (int d = firstDay; d < firstDay + 7; d++)
        {
            features[f++] = (float)(history[target - (24 * d)] / scale);
        }

        features[f++] = (float)(history[target - Week] / scale);
        features[f++] = (float)(history[target - (2 * Week)] / scale);

        double sum = 0, sumSquares = 0, min = double.MaxValue, max = double.MinValue, previousDay = 0;
        for (int i = n - 24; i < n; i++)
        {
            double v = history[i] / scale;
            sum += v;
            sumSquares += v * v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            previousDay += history[i - 24] / scale;
        }

        double mean = sum / 24;
        features[f++] = (float)mean;
        features[f++] = (float)Math.Sqrt(Math.Max(0, (sumSquares / 24) - (mean * mean)));
        features[f++] = (float)min;
        features[f++] = (float)max;
        features[f++] = (float)(mean - (previousDay / 24));
        features[f++] = k;
        features[f++] = target % 24;
        features[f++] = target % Week;
        features[f++] = (float)Math.Log10(scale);
        return scale;
    }

    /// <summary>Mean |y(t) − y(t − 24)| over the history: MASE's denominator with m = 24.</summary>
    internal static double SeasonalDifference(ReadOnlySpan<double> history)
    {
        double sum = 0;
        for (int i = 24; i < history.Length; i++)
        {
            sum += Math.Abs(history[i] - history[i - 24]);
        }

        return history.Length > 24 ? sum / (history.Length - 24) : 0;
    }

    internal sealed class TrainingRow
    {
        public float Label { get; set; }

        public float Weight { get; set; } = 1;

        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];
    }

    internal sealed class ScoreRow
    {
        public float Score { get; set; }
    }
}

/// <summary>A trained global model: forecasts any series with at least <see cref="GlobalTreeForecaster.MinimumHistory"/> points.</summary>
public sealed class GlobalTreeModel
{
    private readonly MLContext context;
    private readonly ITransformer model;

    internal GlobalTreeModel(MLContext context, ITransformer model, int horizon, int trainingRows)
    {
        this.context = context;
        this.model = model;
        Horizon = horizon;
        TrainingRows = trainingRows;
    }

    public int Horizon { get; }

    /// <summary>Rows (series × origins × steps) the model was trained on.</summary>
    public int TrainingRows { get; }

    /// <summary>
    /// Writes the trained trees with ML.NET's own format (<c>MLContext.Model.Save</c>, a zip); <see cref="Load"/> reads
    /// them back. The horizon and the training row count are not in the zip: the caller keeps them beside it.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        DataViewSchema schema = context.Data.LoadFromEnumerable(Array.Empty<GlobalTreeForecaster.TrainingRow>()).Schema;
        context.Model.Save(model, schema, stream);
    }

    /// <summary>Reads trees written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidOperationException">The stream does not hold an ML.NET model.</exception>
    public static GlobalTreeModel Load(Stream stream, int horizon, int trainingRows, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ForecastMath.EnsureHorizon(horizon);
        var context = new MLContext(seed);
        ITransformer model = context.Model.Load(stream, out _);
        return new GlobalTreeModel(context, model, horizon, trainingRows);
    }

    /// <summary>Forecasts <see cref="Horizon"/> steps after each history, in one batch.</summary>
    public double[][] Forecast(IReadOnlyList<double[]> histories)
    {
        ArgumentNullException.ThrowIfNull(histories);
        var rows = new List<GlobalTreeForecaster.TrainingRow>(histories.Count * Horizon);
        var scales = new double[histories.Count];
        var baselines = new float[histories.Count * Horizon];
        for (int s = 0; s < histories.Count; s++)
        {
            if (histories[s].Length < GlobalTreeForecaster.MinimumHistory)
            {
                throw new ArgumentException($"Series {s} has {histories[s].Length} points; the global model needs {GlobalTreeForecaster.MinimumHistory}.", nameof(histories));
            }

            for (int k = 1; k <= Horizon; k++)
            {
                var features = new float[GlobalTreeForecaster.FeatureCount];
                scales[s] = GlobalTreeForecaster.Featurise(histories[s], k, features);
                baselines[rows.Count] = features[GlobalTreeForecaster.BaselineFeature];
                rows.Add(new GlobalTreeForecaster.TrainingRow { Features = features });
            }
        }

        IDataView scored = model.Transform(context.Data.LoadFromEnumerable(rows));
        var forecasts = new double[histories.Count][];
        int at = 0;
        foreach (GlobalTreeForecaster.ScoreRow row in context.Data.CreateEnumerable<GlobalTreeForecaster.ScoreRow>(scored, reuseRowObject: true))
        {
            int s = at / Horizon;
            forecasts[s] ??= new double[Horizon];
            forecasts[s][at % Horizon] = (row.Score + baselines[at]) * scales[s];
            at++;
        }

        return forecasts;
    }
}
