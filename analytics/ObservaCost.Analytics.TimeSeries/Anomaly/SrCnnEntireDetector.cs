using System.Numerics;
using ObservaCost.Analytics.TimeSeries.Internal;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>
/// Batch spectral-residual anomaly detection over a whole series (ML.NET's <c>DetectEntireAnomalyBySrCnn</c>): the
/// series is cut into batches of <see cref="SrCnnEntireOptions.BatchSize"/> (a last batch under 12 points joins the
/// previous one), each scored on its own. Scores are clipped to [0, 1]; a flag is dropped when the point lies within
/// 1.5 standard deviations of its batch mean. The expected value is the de-anomalied batch low-pass filtered by FFT;
/// the margin is a boundary unit (from a centred running median) times a factor that falls with the sensitivity.
/// One instance reuses its buffers across calls; it is not thread-safe.
/// </summary>
public sealed class SrCnnEntireDetector
{
    private const int JudgementWindow = 40;
    private const double DeanomalyThreshold = 0.35;
    private const double BoundSensitivity = 93.0;
    private const double UnitForZero = 0.3;
    private const double ZScoreThreshold = 1.5;
    private const int MinimumScoreWindow = 11;
    private const int MinimumPointsToFit = 4;

    private readonly SrCnnEntireOptions _options;
    private readonly SaliencyMap _saliency = new();
    private readonly SpectralBuffer _spectrum = new();
    private double[] _series = [];
    private double[] _seasonal = [];
    private double[] _saliencyValues = [];
    private double[] _saliencyAverage = [];
    private double[] _deanomalied = [];
    private double[] _expected = [];
    private double[] _trend = [];
    private double[] _window = [];
    private bool[] _flaggedForFit = [];

    public SrCnnEntireDetector(SrCnnEntireOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>Detects over <paramref name="values"/> and returns one result per point.</summary>
    public static SrAnomalyPoint[] Detect(ReadOnlySpan<double> values, SrCnnEntireOptions options)
    {
        var results = new SrAnomalyPoint[values.Length];
        new SrCnnEntireDetector(options).Detect(values, results);
        return results;
    }

    /// <summary>Detects over <paramref name="values"/> into <paramref name="results"/> (same length).</summary>
    public void Detect(ReadOnlySpan<double> values, Span<SrAnomalyPoint> results)
    {
        if (results.Length < values.Length)
        {
            throw new ArgumentException("The result span is shorter than the series.", nameof(results));
        }

        if (values.Length < SrCnnEntireOptions.MinimumBatchSize)
        {
            throw new ArgumentException($"The series needs at least {SrCnnEntireOptions.MinimumBatchSize} points, got {values.Length}.", nameof(values));
        }

        int batchSize = _options.BatchSize == -1 ? values.Length : _options.BatchSize;
        int start = 0;
        while (start < values.Length)
        {
            int length = Math.Min(batchSize, values.Length - start);
            int rest = values.Length - start - length;
            if (rest > 0 && rest < SrCnnEntireOptions.MinimumBatchSize)
            {
                length += rest;
            }

            DetectBatch(values.Slice(start, length), results.Slice(start, length));
            start += length;
        }
    }

    private void DetectBatch(ReadOnlySpan<double> values, Span<SrAnomalyPoint> results)
    {
        int n = values.Length;
        Span<double> series = Buffers.AtLeast(ref _series, n).AsSpan(0, n);
        Span<double> seasonal = Buffers.AtLeast(ref _seasonal, n).AsSpan(0, n);
        Deseasonalise(values, series, seasonal);

        (double mean, double std) = Buffers.MeanStd(series);
        double minimum = double.MaxValue;
        double maximum = double.MinValue;
        foreach (double v in values)
        {
            minimum = Math.Min(minimum, v);
            maximum = Math.Max(maximum, v);
        }

        int extended = n + SaliencyMap.BackAddCount;
        Span<double> saliency = Buffers.AtLeast(ref _saliencyValues, extended).AsSpan(0, extended);
        Span<double> average = Buffers.AtLeast(ref _saliencyAverage, extended).AsSpan(0, extended);
        _saliency.Compute(series, saliency);
        Buffers.TrailingAverage(saliency, Math.Min(extended, JudgementWindow), average);
        int head = Math.Min(extended, MinimumScoreWindow);
        double headAverage = average[head - 1];
        for (int i = 0; i <= head && i < extended; i++)
        {
            average[i] = headAverage;
        }

        for (int i = 0; i < n; i++)
        {
            double score = Math.Clamp(SaliencyMap.RelativeDeviation(saliency[i], average[i]) / 10.0, 0, 1);
            bool flagged = score > _options.Threshold;
            if (flagged && (std < SaliencyMap.Epsilon || Math.Abs(series[i] - mean) / std < ZScoreThreshold))
            {
                flagged = false;
                score = 0;
            }

            results[i] = new SrAnomalyPoint(flagged, score, saliency[i], 0, 0, 0, 0);
        }

        if (_options.DetectMode == SrCnnDetectMode.AnomalyOnly)
        {
            return;
        }

        Span<double> expected = Buffers.AtLeast(ref _expected, n).AsSpan(0, n);
        ExpectedValues(series, results, expected);
        for (int i = 0; i < n; i++)
        {
            expected[i] += seasonal[i];
        }

        if (_options.DetectMode == SrCnnDetectMode.AnomalyAndExpectedValue)
        {
            for (int i = 0; i < n; i++)
            {
                results[i] = results[i] with { ExpectedValue = ClampToDataSign(expected[i], minimum, maximum) };
            }

            return;
        }

        Margins(values, results, expected, minimum, maximum);
    }

    private void Deseasonalise(ReadOnlySpan<double> values, Span<double> series, Span<double> seasonal)
    {
        int period = _options.Period;
        if (period <= 0 || period * 2 > values.Length)
        {
            values.CopyTo(series);
            seasonal.Clear();
            return;
        }

        int cycles = (values.Length + period - 1) / period;
        Span<double> phase = Buffers.AtLeast(ref _window, cycles).AsSpan(0, cycles);
        Span<double> seasonalByPhase = period <= 1024 ? stackalloc double[period] : new double[period];
        for (int p = 0; p < period; p++)
        {
            int count = 0;
            for (int i = p; i < values.Length; i += period)
            {
                phase[count++] = values[i];
            }

            seasonalByPhase[p] = _options.DeseasonalityMode == SrCnnDeseasonalityMode.Mean
                ? Statistics.Mean(phase[..count])
                : Statistics.MedianInPlace(phase[..count]);
        }

        double level = Statistics.Mean(seasonalByPhase);
        for (int i = 0; i < values.Length; i++)
        {
            seasonal[i] = seasonalByPhase[i % period] - level;
            series[i] = values[i] - seasonal[i];
        }
    }

    private void ExpectedValues(ReadOnlySpan<double> series, ReadOnlySpan<SrAnomalyPoint> results, Span<double> expected)
    {
        int n = series.Length;
        Span<double> data = Buffers.AtLeast(ref _deanomalied, n).AsSpan(0, n);
        series.CopyTo(data);
        if (_flaggedForFit.Length < n)
        {
            _flaggedForFit = new bool[Math.Max(n, _flaggedForFit.Length * 2)];
        }

        Span<bool> flagged = _flaggedForFit.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            flagged[i] = results[i].RawScore > DeanomalyThreshold;
        }

        for (int index = 0; index < n; index++)
        {
            if (flagged[index])
            {
                data[index] = FitNeighbours(series, flagged, index);
            }
        }

        Complex[] spectrum = _spectrum.Ensure(n);
        for (int i = 0; i < n; i++)
        {
            spectrum[i] = new Complex(data[i], 0);
        }

        _spectrum.Forward();
        for (int i = 0; i < n; i++)
        {
            if (i > n * 3.0 / 8 && i < n * 5.0 / 8)
            {
                spectrum[i] = Complex.Zero;
            }
        }

        _spectrum.Inverse();
        for (int i = 0; i < n; i++)
        {
            expected[i] = spectrum[i].Real;
        }
    }

    /// <summary>Least-squares line through the nearest unflagged neighbours (widening until there are 4), at the index.</summary>
    private static double FitNeighbours(ReadOnlySpan<double> series, ReadOnlySpan<bool> flagged, int index)
    {
        int n = series.Length;
        int step = 1;
        while (true)
        {
            int start = Math.Max(index - step, 0);
            int end = Math.Min(n - 1, index + step);
            double count = 0, sumX = 0, sumY = 0, sumXx = 0, sumXy = 0;
            for (int i = start; i <= end; i++)
            {
                if (!flagged[i])
                {
                    count++;
                    sumX += i;
                    sumY += series[i];
                    sumXx += (double)i * i;
                    sumXy += i * series[i];
                }
            }

            bool canWiden = start > 0 || end < n - 1;
            if (count >= MinimumPointsToFit || !canWiden)
            {
                if (count <= 1)
                {
                    return series[index];
                }

                double denominator = (count * sumXx) - (sumX * sumX);
                double slope = ((count * sumXy) - (sumX * sumY)) / denominator;
                double intercept = ((sumXx * sumY) - (sumX * sumXy)) / denominator;
                return (slope * index) + intercept;
            }

            step += 2;
        }
    }

    private void Margins(ReadOnlySpan<double> values, Span<SrAnomalyPoint> results, ReadOnlySpan<double> expected, double minimum, double maximum)
    {
        int n = values.Length;
        Span<double> trend = Buffers.AtLeast(ref _trend, n).AsSpan(0, n);
        CentredMedian(values, Math.Min(n / 3, 512), trend);

        double trendSum = 0;
        int count = 0;
        bool closeToZero = true;
        for (int i = 0; i < n; i++)
        {
            if (!results[i].IsAnomaly)
            {
                closeToZero &= Math.Abs(trend[i]) < SaliencyMap.Epsilon;
                trendSum += Math.Abs(trend[i]);
                count++;
            }
        }

        double trendFraction = count > 0 ? 0.5 : 1.0;
        double averageTrendPart = count > 0 ? trendSum / count * (1 - trendFraction) : 0;
        double factor = SensitivityFactors.At(_options.Sensitivity);
        double boundFactor = SensitivityFactors.At(BoundSensitivity);
        for (int i = 0; i < n; i++)
        {
            double unit = closeToZero ? UnitForZero : averageTrendPart + (Math.Abs(trend[i]) * trendFraction);
            double margin = unit * factor;
            SrAnomalyPoint point = results[i];
            double score = point.IsAnomaly ? SensitivityFactors.Score(Math.Abs(expected[i] - values[i]) / unit) : 0;
            bool isAnomaly = point.IsAnomaly && (values[i] < expected[i] - margin || values[i] > expected[i] + margin);
            double expectedValue = ClampToDataSign(expected[i], minimum, maximum);
            double upper = expected[i] + margin;
            double lower = expected[i] - margin;
            if (!isAnomaly)
            {
                double boundMargin = unit * boundFactor;
                expectedValue = Math.Max(Math.Min(expectedValue, values[i] + boundMargin), values[i] - boundMargin);
                upper = expectedValue + margin;
                lower = expectedValue - margin;
            }

            results[i] = new SrAnomalyPoint(isAnomaly, score, point.Magnitude, expectedValue, unit, upper, lower);
        }
    }

    /// <summary>Median of the window centred on each point, truncated at the ends (half-width window / 2).</summary>
    private void CentredMedian(ReadOnlySpan<double> data, int window, Span<double> trend)
    {
        int n = data.Length;
        int half = window / 2;
        int width = (2 * half) + 1;
        if (n < width || half == 0)
        {
            data.CopyTo(trend);
            return;
        }

        double[] sorted = Buffers.AtLeast(ref _window, width);
        int size = 0;
        int nextIn = 0;
        for (int i = 0; i < n; i++)
        {
            int leaving = i - half - 1;
            if (leaving >= 0)
            {
                size = SortedWindow.Remove(sorted, size, data[leaving]);
            }

            int wantEnd = Math.Min(n - 1, i + half);
            while (nextIn <= wantEnd)
            {
                size = SortedWindow.Insert(sorted, size, data[nextIn]);
                nextIn++;
            }

            trend[i] = SortedWindow.Median(sorted, size);
        }
    }

    private static double ClampToDataSign(double expected, double minimum, double maximum)
    {
        if (minimum >= 0 && expected < 0)
        {
            return 0;
        }

        return maximum <= 0 && expected > 0 ? 0 : expected;
    }
}
