using System.Globalization;

namespace ObservaCost.Collector.Scraping;

/// <summary>One cumulative histogram bucket: the count of observations at or below <paramref name="UpperBound"/>.</summary>
public readonly record struct HistogramBucket(double UpperBound, double CumulativeCount);

/// <summary>Quantiles from cumulative histogram buckets, as Prometheus's <c>histogram_quantile</c> computes them.</summary>
public static class HistogramQuantile
{
    /// <summary>
    /// Why cumulative buckets <paramref name="buckets"/> (of one histogram, in any order) cannot give a quantile, or
    /// null when they can: a count that is NaN or negative, no <c>+Inf</c> bucket, or a count lower than the count of
    /// a smaller bound (cumulative counts never decrease). <see cref="Estimate"/> papers over the last, as Prometheus's
    /// <c>histogram_quantile</c> does with a warning; the collector refuses such a histogram instead.
    /// </summary>
    public static string? Problem(IReadOnlyList<HistogramBucket> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        HistogramBucket[] sorted = [.. buckets];
        Array.Sort(sorted, (a, b) => a.UpperBound.CompareTo(b.UpperBound));
        for (int i = 0; i < sorted.Length; i++)
        {
            HistogramBucket bucket = sorted[i];
            if (!(bucket.CumulativeCount >= 0))
            {
                return string.Create(CultureInfo.InvariantCulture, $"the bucket le=\"{Bound(bucket.UpperBound)}\" counts {bucket.CumulativeCount}");
            }

            if (i > 0 && bucket.CumulativeCount < sorted[i - 1].CumulativeCount)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"the cumulative count decreases from {sorted[i - 1].CumulativeCount} at le=\"{Bound(sorted[i - 1].UpperBound)}\" to {bucket.CumulativeCount} at le=\"{Bound(bucket.UpperBound)}\"");
            }
        }

        return sorted.Length == 0 || !double.IsPositiveInfinity(sorted[^1].UpperBound) ? "it has no le=\"+Inf\" bucket" : null;

        static string Bound(double bound) => double.IsPositiveInfinity(bound) ? "+Inf" : bound.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Estimates quantile <paramref name="quantile"/> (0–1) by linear interpolation inside the bucket holding the rank,
    /// with Prometheus's rules: buckets are sorted and equal bounds merged; counts are forced monotonic; the highest
    /// bucket must be <c>+Inf</c> (else NaN); fewer than two buckets or no observations give NaN; a rank in the
    /// <c>+Inf</c> bucket gives the highest finite bound; the first bucket's lower bound is 0 (unless its upper bound is
    /// not positive, which is then returned). A quantile below 0 gives −∞, above 1 +∞.
    /// </summary>
    public static double Estimate(double quantile, IEnumerable<HistogramBucket> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        if (double.IsNaN(quantile))
        {
            return double.NaN;
        }

        if (quantile < 0)
        {
            return double.NegativeInfinity;
        }

        if (quantile > 1)
        {
            return double.PositiveInfinity;
        }

        List<HistogramBucket> sorted = [.. buckets];
        sorted.Sort((a, b) => a.UpperBound.CompareTo(b.UpperBound));
        if (sorted.Count == 0 || !double.IsPositiveInfinity(sorted[^1].UpperBound))
        {
            return double.NaN;
        }

        List<HistogramBucket> merged = new(sorted.Count);
        foreach (HistogramBucket bucket in sorted)
        {
            if (merged.Count > 0 && merged[^1].UpperBound == bucket.UpperBound)
            {
                merged[^1] = merged[^1] with { CumulativeCount = merged[^1].CumulativeCount + bucket.CumulativeCount };
            }
            else
            {
                merged.Add(bucket);
            }
        }

        double max = double.NegativeInfinity;
        for (int i = 0; i < merged.Count; i++)
        {
            if (merged[i].CumulativeCount > max)
            {
                max = merged[i].CumulativeCount;
            }
            else if (merged[i].CumulativeCount < max)
            {
                merged[i] = merged[i] with { CumulativeCount = max };
            }
        }

        if (merged.Count < 2)
        {
            return double.NaN;
        }

        double observations = merged[^1].CumulativeCount;
        if (observations == 0 || double.IsNaN(observations))
        {
            return double.NaN;
        }

        double rank = quantile * observations;
        int b = 0;
        while (b < merged.Count - 1 && merged[b].CumulativeCount < rank)
        {
            b++;
        }

        if (b == merged.Count - 1)
        {
            return merged[^2].UpperBound;
        }

        if (b == 0 && merged[0].UpperBound <= 0)
        {
            return merged[0].UpperBound;
        }

        double bucketStart = 0;
        double bucketEnd = merged[b].UpperBound;
        double count = merged[b].CumulativeCount;
        if (b > 0)
        {
            bucketStart = merged[b - 1].UpperBound;
            count -= merged[b - 1].CumulativeCount;
            rank -= merged[b - 1].CumulativeCount;
        }

        return bucketStart + ((bucketEnd - bucketStart) * (rank / count));
    }
}
