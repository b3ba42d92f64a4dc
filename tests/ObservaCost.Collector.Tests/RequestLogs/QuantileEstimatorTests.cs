using ObservaCost.Collector.RequestLogs;

namespace ObservaCost.Collector.Tests.RequestLogs;

public sealed class QuantileEstimatorTests
{
    [Fact]
    public void Empty_HasNoQuantiles()
    {
        Assert.Null(new QuantileEstimator(8).Quantile(0.5));
    }

    [Fact]
    public void UpToCapacity_IsExactNearestRank()
    {
        var estimator = new QuantileEstimator(5);
        foreach (double value in new[] { 40.0, 10, 50, 20, 30 })
        {
            estimator.Add(value);
        }

        Assert.True(estimator.IsExact);
        Assert.Equal(10, estimator.Quantile(0));
        Assert.Equal(10, estimator.Quantile(0.2));
        Assert.Equal(20, estimator.Quantile(0.21));
        Assert.Equal(30, estimator.Quantile(0.5));
        Assert.Equal(50, estimator.Quantile(0.99));
        Assert.Equal(50, estimator.Quantile(1));
    }

    [Fact]
    public void BeyondCapacity_SwitchesAndStaysWithinOnePercentOverTheWholeRange()
    {
        var estimator = new QuantileEstimator(4);
        var values = new List<double>();
        var random = new Random(7);
        for (int i = 0; i < 50_000; i++)
        {
            double value = Math.Pow(10, (random.NextDouble() * 11) - 2); // 0.01 ms to 10^9 ms
            values.Add(value);
            estimator.Add(value);
        }

        values.Sort();
        Assert.False(estimator.IsExact);
        Assert.Equal(50_000, estimator.Count);
        for (double q = 0.01; q <= 1.0; q += 0.01)
        {
            double exact = values[(int)Math.Ceiling(q * values.Count) - 1];
            double estimate = estimator.Quantile(q)!.Value;
            Assert.True(Math.Abs(estimate - exact) <= 0.01 * exact, $"q={q}: exact {exact}, estimate {estimate}");
        }

        Assert.Equal(values[0], estimator.Quantile(0));
        Assert.Equal(values[^1], estimator.Quantile(1));
    }

    [Fact]
    public void Zeros_AndSubMicrosecondValues_GoToTheZeroBucket()
    {
        var estimator = new QuantileEstimator(0);
        estimator.Add(0);
        estimator.Add(0);
        estimator.Add(0.0001);
        estimator.Add(250);

        Assert.Equal(0, estimator.Quantile(0.5));
        Assert.Equal(0, estimator.Quantile(0.75));
        Assert.Equal(250, estimator.Quantile(1));
    }

    [Fact]
    public void Histogram_IsFixedSize()
    {
        Assert.InRange(QuantileEstimator.HistogramBucketCount, 1390, 1400);
    }

    [Fact]
    public void InvalidValues_Throw()
    {
        var estimator = new QuantileEstimator(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Add(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Add(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Quantile(1.5));
    }
}
