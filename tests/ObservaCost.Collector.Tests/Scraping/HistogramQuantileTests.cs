using ObservaCost.Collector.Scraping;

namespace ObservaCost.Collector.Tests.Scraping;

public sealed class HistogramQuantileTests
{
    private static double Estimate(double q, params (double Le, double Count)[] buckets) =>
        HistogramQuantile.Estimate(q, buckets.Select(b => new HistogramBucket(b.Le, b.Count)));

    [Fact]
    public void Estimate_RankInsideBucket_InterpolatesLinearly()
    {
        // rank 5 falls in (0.1, 0.5] holding observations 3..6: 0.1 + 0.4 * (5 - 2) / (6 - 2) = 0.4
        Assert.Equal(0.4, Estimate(0.5, (0.1, 2), (0.5, 6), (1, 8), (double.PositiveInfinity, 10)), 12);
    }

    [Fact]
    public void Estimate_RankInFirstBucket_StartsAtZero()
    {
        // rank 1 of 10 in (0, 0.1] holding 2: 0.1 * 1 / 2
        Assert.Equal(0.05, Estimate(0.1, (0.1, 2), (0.5, 6), (double.PositiveInfinity, 10)), 12);
    }

    [Fact]
    public void Estimate_RankInInfBucket_GivesHighestFiniteBound()
    {
        Assert.Equal(1, Estimate(0.9, (1, 5), (double.PositiveInfinity, 10)));
    }

    [Fact]
    public void Estimate_UnsortedInput_IsSorted()
    {
        Assert.Equal(0.4, Estimate(0.5, (double.PositiveInfinity, 10), (1, 8), (0.1, 2), (0.5, 6)), 12);
    }

    [Fact]
    public void Estimate_NonMonotonicCounts_AreForcedMonotonic()
    {
        // (2, 4) becomes (2, 5): rank 5 is reached in the first bucket: 0 + 1 * 5 / 5
        Assert.Equal(1, Estimate(0.5, (1, 5), (2, 4), (double.PositiveInfinity, 10)));
    }

    [Fact]
    public void Estimate_EqualBounds_AreMerged()
    {
        // (1, 2) + (1, 3) = (1, 5); rank 2.5: 1 * 2.5 / 5
        Assert.Equal(0.5, Estimate(0.25, (1, 2), (1, 3), (double.PositiveInfinity, 10)));
    }

    [Fact]
    public void Estimate_NonPositiveFirstBound_IsReturned()
    {
        Assert.Equal(-1, Estimate(0.2, (-1, 5), (double.PositiveInfinity, 10)));
    }

    [Fact]
    public void Estimate_DegenerateInputs_FollowPrometheus()
    {
        Assert.True(double.IsNaN(Estimate(0.5, (1, 5), (2, 10))));
        Assert.True(double.IsNaN(Estimate(0.5, (1, 0), (double.PositiveInfinity, 0))));
        Assert.True(double.IsNaN(Estimate(0.5, (double.PositiveInfinity, 10))));
        Assert.True(double.IsNaN(Estimate(0.5)));
        Assert.True(double.IsNaN(Estimate(double.NaN, (1, 5), (double.PositiveInfinity, 10))));
        Assert.Equal(double.NegativeInfinity, Estimate(-0.1, (1, 5), (double.PositiveInfinity, 10)));
        Assert.Equal(double.PositiveInfinity, Estimate(1.1, (1, 5), (double.PositiveInfinity, 10)));
    }
}

public sealed class HistogramQuantileProblemTests
{
    private static string? Problem(params (double Le, double Count)[] buckets) =>
        HistogramQuantile.Problem([.. buckets.Select(b => new HistogramBucket(b.Le, b.Count))]);

    [Fact]
    public void Problem_MonotonicWithInf_IsNull_InAnyOrder()
    {
        Assert.Null(Problem((double.PositiveInfinity, 10), (1, 5), (0.5, 5)));
    }

    [Fact]
    public void Problem_DecreasingCount_NamesBothBuckets()
    {
        Assert.Equal("the cumulative count decreases from 5 at le=\"1\" to 4 at le=\"2\"", Problem((1, 5), (2, 4), (double.PositiveInfinity, 10)));
    }

    [Fact]
    public void Problem_NoInfBucketOrNaNCount_IsRefused()
    {
        Assert.Equal("it has no le=\"+Inf\" bucket", Problem((1, 5), (2, 6)));
        Assert.Equal("it has no le=\"+Inf\" bucket", Problem());
        Assert.Equal("the bucket le=\"+Inf\" counts NaN", Problem((1, 5), (double.PositiveInfinity, double.NaN)));
    }
}
