namespace ObservaCost.Collector.RequestLogs;

/// <summary>
/// Nearest-rank quantiles of non-negative values (milliseconds) in bounded memory.
/// </summary>
/// <remarks>
/// <para>
/// <b>Method.</b> Up to <c>exactCapacity</c> values are kept as they are, and quantiles are exact: the nearest-rank
/// value <c>sorted[ceil(q·n) − 1]</c>, the same definition as the store's <c>percentile()</c>. When one more value
/// arrives, every kept value moves into a fixed log-bucket histogram (the DDSketch layout) and the list is dropped.
/// Bucket <c>i</c> holds values in <c>(γ^(i−1), γ^i]</c> with <c>γ = (1 + α) / (1 − α)</c>, and reports the value
/// <c>2γ^i / (γ + 1)</c>. The histogram covers <see cref="MinTrackedValue"/> (1 µs) to <see cref="MaxTrackedValue"/>
/// (10⁹ ms, about 11.6 days) in 1,396 <c>int</c> buckets (about 5.5 KiB); values below the range count in a zero
/// bucket and values above it in the last bucket. Exact minimum and maximum are kept: rank 1 and rank n return them,
/// and every other estimate is clamped to them.
/// </para>
/// <para>
/// <b>Error bound.</b> Every value in bucket <c>i</c> is within relative distance <c>(γ − 1)/(γ + 1) = α</c> of the
/// bucket's reported value, and the true nearest-rank value lies in the bucket the rank falls in, so a histogram
/// estimate <c>q̂</c> of the true quantile <c>x</c> satisfies <c>|q̂ − x| ≤ α·x</c>. α is 0.99 % here (0.01 % below 1 % so
/// that floating-point rounding of <c>log</c> at a bucket edge cannot push the error past 1 %). The bound holds
/// inside the tracked range; below 1 µs the error is at most 1 µs absolute, and above 10⁹ ms the estimate is clamped
/// to the exact maximum. Below the exact capacity the error is zero.
/// </para>
/// <para><b>Memory.</b> At most <c>max(8 · exactCapacity, 5.5 KiB)</c> bytes, whatever the number of values.</para>
/// </remarks>
public sealed class QuantileEstimator
{
    /// <summary>The relative accuracy α of histogram estimates.</summary>
    public const double RelativeAccuracy = 0.0099;

    /// <summary>The smallest value the histogram resolves (1 µs in milliseconds).</summary>
    public const double MinTrackedValue = 1e-3;

    /// <summary>The largest value the histogram resolves (10⁹ ms).</summary>
    public const double MaxTrackedValue = 1e9;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);
    private static readonly int MinBucketKey = BucketKey(MinTrackedValue);
    private static readonly int BucketCount = BucketKey(MaxTrackedValue) - MinBucketKey + 1;

    private readonly int _exactCapacity;
    private List<double>? _exact = [];
    private int[]? _buckets;
    private long _zeroCount;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    /// <param name="exactCapacity">How many values are kept exactly before switching to the histogram.</param>
    public QuantileEstimator(int exactCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(exactCapacity);
        _exactCapacity = exactCapacity;
    }

    /// <summary>The number of histogram buckets once the estimator has switched.</summary>
    public static int HistogramBucketCount => BucketCount;

    public long Count { get; private set; }

    /// <summary>True while every value is kept and quantiles are exact.</summary>
    public bool IsExact => _exact is not null;

    /// <summary>Adds a finite, non-negative value.</summary>
    public void Add(double value)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Values must be finite and non-negative.");
        }

        Count++;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
        if (_exact is not null)
        {
            if (_exact.Count < _exactCapacity)
            {
                _exact.Add(value);
                return;
            }

            _buckets = new int[BucketCount];
            foreach (double kept in _exact)
            {
                AddToHistogram(kept);
            }

            _exact = null;
        }

        AddToHistogram(value);
    }

    /// <summary>The nearest-rank <paramref name="quantile"/> (0–1); null when no values were added.</summary>
    public double? Quantile(double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        if (Count == 0)
        {
            return null;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        if (_exact is not null)
        {
            _exact.Sort();
            return _exact[(int)(rank - 1)];
        }

        // The smallest and largest values are known exactly.
        if (rank == Count)
        {
            return _max;
        }

        long seen = _zeroCount;
        if (rank == 1 || rank <= seen)
        {
            return _min;
        }

        int[] buckets = _buckets!;
        for (int i = 0; i < buckets.Length; i++)
        {
            seen += buckets[i];
            if (rank <= seen)
            {
                double estimate = 2 * Math.Pow(Gamma, i + MinBucketKey) / (Gamma + 1);
                return Math.Clamp(estimate, _min, _max);
            }
        }

        return _max;
    }

    private void AddToHistogram(double value)
    {
        if (value < MinTrackedValue)
        {
            _zeroCount++;
            return;
        }

        int index = Math.Min(BucketKey(value) - MinBucketKey, BucketCount - 1);
        _buckets![Math.Max(index, 0)]++;
    }

    private static int BucketKey(double value) => (int)Math.Ceiling(Math.Log(value) / LogGamma);
}
