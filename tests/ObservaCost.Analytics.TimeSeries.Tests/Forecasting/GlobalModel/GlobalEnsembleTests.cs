using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Analytics.TimeSeries.Forecasting.GlobalModel;

namespace ObservaCost.Analytics.TimeSeries.Tests.Forecasting.GlobalModel;

public sealed class GlobalEnsembleTests
{
    // Small and fast: 30 trees, 6 origins per series, one thread.
    private static readonly GlobalTreeOptions Small = new() { NumberOfTrees = 30, MaxOriginsPerSeries = 6, MinimumExampleCountPerLeaf = 5 };

    [Fact]
    public void Train_SameInputTwice_SameForecast()
    {
        double[][] series = Synthetic(8, 600);
        double[][] first = GlobalTreeForecaster.Train(series, Small).Forecast(series);
        double[][] second = GlobalTreeForecaster.Train(series, Small).Forecast(series);
        for (int s = 0; s < series.Length; s++)
        {
            Assert.Equal(first[s], second[s]);
        }
    }

    [Fact]
    public void Train_DailyPattern_ForecastFollowsIt()
    {
        // Every series is level·(10 + 5·sin(2π t / 24)) plus a little noise: the next 48 hours repeat the pattern, so
        // the forecast must stay near the noiseless values (within 10 % of the level's mean 10·level).
        double[][] series = Synthetic(8, 600);
        double[][] forecast = GlobalTreeForecaster.Train(series, Small).Forecast(series);
        for (int s = 0; s < series.Length; s++)
        {
            double level = s + 1;
            for (int k = 1; k <= 48; k++)
            {
                double expected = level * (10 + (5 * Math.Sin(2 * Math.PI * (600 - 1 + k) / 24)));
                Assert.InRange(forecast[s][k - 1], expected - level, expected + level);
            }
        }
    }

    [Fact]
    public void Evaluate_TestHorizonChanged_SameWeightsAndQuantiles()
    {
        // The weights and the interval quantiles come from the last 48 points of the training parts; multiplying
        // every test value by 3 changes the scores but must leave the fit untouched.
        double[][] trains = Synthetic(8, 600);
        IReadOnlyList<M4Series> original = trains.Select((t, i) => new M4Series($"S{i}", t, Enumerable.Repeat(1.0, 48).ToArray())).ToList();
        IReadOnlyList<M4Series> changed = trains.Select((t, i) => new M4Series($"S{i}", t, Enumerable.Repeat(3.0, 48).ToArray())).ToList();
        M4GlobalResult a = M4GlobalEvaluation.Evaluate(original, [HourlyForecasters.SeasonalNaive()], Small);
        M4GlobalResult b = M4GlobalEvaluation.Evaluate(changed, [HourlyForecasters.SeasonalNaive()], Small);
        Assert.Equal(a.Fit.Weights, b.Fit.Weights);
        Assert.Equal(a.Fit.LowerQuantile, b.Fit.LowerQuantile);
        Assert.Equal(a.Fit.UpperQuantile, b.Fit.UpperQuantile);
        Assert.NotEqual(a.Ensemble.Smape, b.Ensemble.Smape);
        Assert.Equal(1.0, a.Fit.Weights.Sum(), 9);
    }

    [Fact]
    public void Coverage_HandCase_ShareInsideBoundsIncluded()
    {
        // Points 1, 5, 9, 2 against [0, 4] each: 1 inside, 5 above, 9 above, 2 inside; a point on a bound counts
        // (the 4th interval is [2, 2]) → 2 of 4 = 0.5.
        double[] actual = [1, 5, 9, 2];
        double[] lower = [0, 0, 0, 2];
        double[] upper = [4, 4, 4, 2];
        Assert.Equal(0.5, GlobalEnsemble.Coverage(actual, lower, upper));
    }

    [Fact]
    public void Quantile_HandCase_LinearBetweenOrderStatistics()
    {
        // Sorted 0, 10, 20, 30, 40: p = 0.1 sits at position 0.4 → 0 + 0.4·10 = 4; p = 0.9 at 3.6 → 30 + 0.6·10 = 36.
        double[] sorted = [0, 10, 20, 30, 40];
        Assert.Equal(4, GlobalEnsemble.Quantile(sorted, 0.1), 9);
        Assert.Equal(36, GlobalEnsemble.Quantile(sorted, 0.9), 9);
    }

    private static double[][] Synthetic(int count, int length)
    {
        var random = new Random(7);
        var series = new double[count][];
        for (int s = 0; s < count; s++)
        {
            double level = s + 1;
            series[s] = new double[length];
            for (int t = 0; t < length; t++)
            {
                series[s][t] = level * (10 + (5 * Math.Sin(2 * Math.PI * t / 24)) + ((random.NextDouble() - 0.5) * 0.5));
            }
        }

        return series;
    }
}
