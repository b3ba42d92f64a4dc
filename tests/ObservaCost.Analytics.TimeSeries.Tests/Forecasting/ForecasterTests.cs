using ObservaCost.Analytics.TimeSeries.Forecasting;

namespace ObservaCost.Analytics.TimeSeries.Tests.Forecasting;

public sealed class ForecasterTests
{
    private static double Sinusoid(int t) => 50 + (10 * Math.Sin((2 * Math.PI * t / 24) + 0.3));

    [Theory]
    [InlineData(RankSelectionMethod.Exact, 0)]
    [InlineData(RankSelectionMethod.Fixed, 3)]
    public void Ssa_PureSinusoid_ForecastsItTo1e6(RankSelectionMethod selection, int rank)
    {
        double[] history = Enumerable.Range(0, 500).Select(Sinusoid).ToArray();
        var ssa = new SsaForecaster(new SsaForecastingOptions { WindowSize = 48, RankSelectionMethod = selection, Rank = rank });

        ForecastResult forecast = ssa.Forecast(history, 96);

        for (int h = 0; h < 96; h++)
        {
            Assert.Equal(Sinusoid(500 + h), forecast.Point[h], 1e-6);
        }

        Assert.Equal(3, ssa.LastRank);
    }

    [Fact]
    public void Ssa_NoisySeries_BoundsContainPointAndWidenWithHorizon()
    {
        var random = new Random(5);
        double[] history = Enumerable.Range(0, 600).Select(t => Sinusoid(t) + random.NextDouble()).ToArray();

        ForecastResult forecast = new SsaForecaster(new SsaForecastingOptions { WindowSize = 48, ConfidenceLevel = 0.9 }).Forecast(history, 24);

        for (int h = 0; h < 24; h++)
        {
            Assert.True(forecast.LowerBound[h] < forecast.Point[h] && forecast.Point[h] < forecast.UpperBound[h]);
        }

        Assert.True(forecast.UpperBound[23] - forecast.LowerBound[23] >= forecast.UpperBound[0] - forecast.LowerBound[0]);
        Assert.InRange(forecast.UpperBound[0] - forecast.Point[0], 0.1, 2.0);
    }

    [Fact]
    public void Ssa_GrowingOscillation_StabilisationKeepsForecastBounded()
    {
        double[] history = Enumerable.Range(0, 300).Select(t => Math.Pow(1.01, t) * Math.Sin(2 * Math.PI * t / 20)).ToArray();
        var options = new SsaForecastingOptions { WindowSize = 40, RankSelectionMethod = RankSelectionMethod.Fixed, Rank = 2 };

        double[] free = new SsaForecaster(options with { ShouldStabilize = false }).Forecast(history, 200).Point;
        double[] stable = new SsaForecaster(options).Forecast(history, 200).Point;

        double lastAmplitude = history[^20..].Max(Math.Abs);
        Assert.True(free[^20..].Max(Math.Abs) > 3 * lastAmplitude);
        Assert.True(stable[^20..].Max(Math.Abs) < 1.5 * lastAmplitude);
    }

    [Fact]
    public void Ssa_TooShortHistory_Throws()
    {
        Assert.Throws<ArgumentException>(() => new SsaForecaster(new SsaForecastingOptions { WindowSize = 48 }).Forecast(new double[96], 5));
    }

    [Fact]
    public void SeasonalNaive_Season24_RepeatsLastSeasonExactly()
    {
        double[] history = Enumerable.Range(0, 72).Select(t => (double)((t % 24) * 3) + (t / 24)).ToArray();

        ForecastResult forecast = new SeasonalNaiveForecaster(24).Forecast(history, 30);

        for (int h = 1; h <= 30; h++)
        {
            Assert.Equal(history[72 + ((h - 1) % 24) - 24], forecast.Point[h - 1]);
        }

        Assert.True(forecast.UpperBound[29] - forecast.Point[29] > forecast.UpperBound[0] - forecast.Point[0]);
    }

    [Fact]
    public void SeasonalNaive_NoSeasonConfigured_DetectsDailySeason()
    {
        double[] history = Enumerable.Range(0, 240).Select(Sinusoid).ToArray();

        double[] point = new SeasonalNaiveForecaster().Forecast(history, 24).Point;

        for (int h = 0; h < 24; h++)
        {
            Assert.Equal(Sinusoid(240 + h), point[h], 9);
        }
    }

    [Fact]
    public void HoltWinters_LinearTrend_ExtrapolatesTheLine()
    {
        double[] history = Enumerable.Range(0, 100).Select(t => 5 + (2.0 * t)).ToArray();

        ForecastResult forecast = new HoltWintersForecaster(new HoltWintersOptions { SeasonLength = 1 }).Forecast(history, 10);

        for (int h = 1; h <= 10; h++)
        {
            Assert.Equal(5 + (2.0 * (99 + h)), forecast.Point[h - 1], 6);
        }
    }

    [Fact]
    public void HoltWinters_TrendPlusDailySeason_ForecastsWithinOnePercent()
    {
        static double Value(int t) => 100 + (0.5 * t) + (20 * Math.Sin(2 * Math.PI * t / 24));
        double[] history = Enumerable.Range(0, 480).Select(Value).ToArray();

        double[] point = new HoltWintersForecaster(new HoltWintersOptions { SeasonLength = 24 }).Forecast(history, 48).Point;

        for (int h = 0; h < 48; h++)
        {
            Assert.Equal(Value(480 + h), point[h], Value(480 + h) * 0.01);
        }
    }

    [Fact]
    public void SeasonDetector_HourlyWithDailyAndWeeklyPattern_Finds24And168()
    {
        var random = new Random(11);
        double[] values = Enumerable.Range(0, 24 * 7 * 5)
            .Select(t => 100 + (20 * Math.Sin(2 * Math.PI * t / 24)) + (t % 168 >= 120 ? -30 : 0) + (3 * random.NextDouble()))
            .ToArray();

        Assert.Equal([24, 168], SeasonDetector.DetectSeasons(values, 200));
    }

    [Fact]
    public void SeasonDetector_DailyOnlyAndWhiteNoise_Finds24AndNothing()
    {
        var random = new Random(13);
        double[] daily = Enumerable.Range(0, 600).Select(t => Sinusoid(t) + random.NextDouble()).ToArray();
        double[] noise = Enumerable.Range(0, 600).Select(_ => random.NextDouble()).ToArray();

        Assert.Equal([24], SeasonDetector.DetectSeasons(daily, 200));
        Assert.Empty(SeasonDetector.DetectSeasons(noise, 200));
        Assert.Equal(1, SeasonDetector.DetectPrimarySeason(noise, 200, fallback: 1));
    }

    [Fact]
    public void LogTransform_PositiveMultiplicativeSeason_StaysPositiveAndNonPositiveHistoryPassesThrough()
    {
        double[] history = Enumerable.Range(0, 240).Select(t => Math.Exp(1 + Math.Sin(2 * Math.PI * t / 24))).ToArray();
        var log = new LogTransformForecaster(new SeasonalNaiveForecaster(24));

        ForecastResult forecast = log.Forecast(history, 24);
        double[] withZero = [0, .. history];

        Assert.Equal(new SeasonalNaiveForecaster(24).Forecast(history, 24).Point, forecast.Point, (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.All(forecast.LowerBound, v => Assert.True(v > 0));
        Assert.Equal(new SeasonalNaiveForecaster(24).Forecast(withZero, 24).Point, log.Forecast(withZero, 24).Point);
    }

    [Fact]
    public void Combined_TwoMembers_IsTheMeanOfTheirForecasts()
    {
        double[] history = Enumerable.Range(0, 240).Select(t => Sinusoid(t) + (t * 0.1)).ToArray();
        var naive24 = new SeasonalNaiveForecaster(24);
        var naive1 = new SeasonalNaiveForecaster(1);

        double[] combined = new CombinedForecaster("mean", naive24, naive1).Forecast(history, 12).Point;

        double[] a = naive24.Forecast(history, 12).Point;
        double[] b = naive1.Forecast(history, 12).Point;
        for (int h = 0; h < 12; h++)
        {
            Assert.Equal((a[h] + b[h]) / 2, combined[h], 12);
        }
    }
}
