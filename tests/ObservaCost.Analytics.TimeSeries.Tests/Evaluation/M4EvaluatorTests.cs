using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Analytics.TimeSeries.Forecasting;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.TimeSeries.Tests.Evaluation;

public sealed class M4EvaluatorTests
{
    private static IReadOnlyList<M4Series> DevSet() => M4Evaluator.Load(
        RepoPaths.Data("m4-hourly-dev", "Hourly-train-dev.csv"),
        RepoPaths.Data("m4-hourly-dev", "Hourly-test-dev.csv"));

    [Fact]
    public void Smape_HandComputed_Matches()
    {
        // 200·|100 − 110|/210 = 9.5238…, 200·|50 − 40|/90 = 22.222…
        Assert.Equal(((2000.0 / 210) + (2000.0 / 90)) / 2, M4Evaluator.Smape([100, 50], [110, 40]), 12);
    }

    [Fact]
    public void Mase_HandComputed_UsesInSampleSeasonalDifferences()
    {
        double[] train = [1, 2, 3, 5, 4, 7];

        // m = 2: |3−1|, |5−2|, |4−3|, |7−5| → mean 2; forecast errors 1 and 3 → mean 2; MASE 1.
        Assert.Equal(1.0, M4Evaluator.Mase(train, [10, 10], [9, 13], 2), 12);
    }

    [Fact]
    public void Load_DevSet_Has104SeriesWith48TestPoints()
    {
        IReadOnlyList<M4Series> series = DevSet();

        Assert.Equal(104, series.Count);
        Assert.Equal("H1", series[0].Id);
        Assert.All(series, s => Assert.Equal(48, s.Test.Length));
        Assert.All(series, s => Assert.InRange(s.Train.Length, 700, 960));
    }

    [Fact]
    public void SeasonalNaive_DevSet_ReproducesPublishedFigures()
    {
        M4MethodResult result = M4Evaluator.Evaluate(DevSet(), HourlyForecasters.SeasonalNaive());

        Assert.Equal(14.418, Math.Round(result.Smape, 3));
        Assert.Equal(1.318, Math.Round(result.Mase, 3));
    }

    [Fact]
    public void BestForecaster_DevSet_AtLeastTenPercentBetterThanSeasonalNaiveOnBoth()
    {
        IReadOnlyList<M4MethodResult> results = M4Evaluator.EvaluateAll(
            DevSet(),
            [HourlyForecasters.SeasonalNaive(), HourlyForecasters.Ssa()],
            [("combined", [0, 1])]);

        M4MethodResult naive = results[0];
        M4MethodResult combined = results[2];
        Assert.True(combined.Smape <= 0.9 * naive.Smape, $"sMAPE {combined.Smape} vs {naive.Smape}");
        Assert.True(combined.Mase <= 0.9 * naive.Mase, $"MASE {combined.Mase} vs {naive.Mase}");
    }

    [Fact]
    public void EvaluateAll_Combination_EqualsCombinedForecasterThroughEvaluate()
    {
        IReadOnlyList<M4Series> few = DevSet().Take(5).ToList();

        IReadOnlyList<M4MethodResult> all = M4Evaluator.EvaluateAll(few, HourlyForecasters.Singles(), HourlyForecasters.Combinations());
        M4MethodResult direct = M4Evaluator.Evaluate(few, HourlyForecasters.Combined());

        M4MethodResult combined = all.Single(r => r.Method == HourlyForecasters.CombinedName);
        Assert.Equal(direct.Smape, combined.Smape, 9);
        Assert.Equal(direct.Mase, combined.Mase, 9);
    }
}
