using System.Globalization;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>Options of <see cref="SrCnnStreamingDetector"/>, named as in ML.NET's <c>DetectAnomalyBySrCnn</c>.</summary>
public sealed record SrCnnOptions
{
    /// <summary>Points kept and transformed for each new point.</summary>
    public int WindowSize { get; init; } = 64;

    /// <summary>Trailing window of saliency the newest point's saliency is compared with.</summary>
    public int JudgementWindowSize { get; init; } = 21;

    /// <summary>Raw score above which the point raises an alert, in [0, 1].</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>Points needed before the first score (fewer give 0).</summary>
    public const int MinimumPoints = 12;

    public void Validate()
    {
        var failures = new List<string>();
        if (WindowSize < MinimumPoints)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(WindowSize)} must be at least {MinimumPoints} (got {WindowSize})"));
        }

        if (JudgementWindowSize < 1 || JudgementWindowSize > WindowSize)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(JudgementWindowSize)} must be in [1, {nameof(WindowSize)}] (got {JudgementWindowSize})"));
        }

        if (!(Threshold >= 0 && Threshold <= 1))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(Threshold)} must be in [0, 1] (got {Threshold})"));
        }

        if (failures.Count > 0)
        {
            throw new ArgumentException("Invalid spectral residual options: " + string.Join("; ", failures) + ".");
        }
    }
}

/// <summary>The streaming detector's output for one point (ML.NET's Alert, Raw Score, Mag).</summary>
public readonly record struct SrCnnStreamingPoint(bool Alert, double RawScore, double Magnitude);

/// <summary>
/// Streaming spectral-residual detection (ML.NET's <c>DetectAnomalyBySrCnn</c>): each new point is scored from the
/// last <see cref="SrCnnOptions.WindowSize"/> points only, so the score never looks ahead. The window is extended by
/// five extrapolated points, its saliency map computed, and the newest point scores
/// |S − mean S over the judgement window| / mean / 10, clipped to [0, 1]. Allocation-free per point once warm
/// (apart from MathNet's FFT scratch for lengths that are not powers of two).
/// </summary>
public sealed class SrCnnStreamingDetector
{
    private readonly SrCnnOptions _options;
    private readonly SaliencyMap _map = new();
    private readonly double[] _ring;
    private readonly double[] _window;
    private readonly double[] _saliency;
    private long _count;

    public SrCnnStreamingDetector(SrCnnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _ring = new double[options.WindowSize];
        _window = new double[options.WindowSize];
        _saliency = new double[options.WindowSize + SaliencyMap.BackAddCount];
    }

    /// <summary>Points seen so far.</summary>
    public long Count => _count;

    /// <summary>Adds the next point and scores it.</summary>
    public SrCnnStreamingPoint Add(double value)
    {
        int size = _ring.Length;
        _ring[(int)(_count % size)] = value;
        _count++;
        int n = (int)Math.Min(_count, size);
        if (n < SrCnnOptions.MinimumPoints)
        {
            return default;
        }

        int first = (int)((_count - n) % size);
        for (int i = 0; i < n; i++)
        {
            int at = first + i;
            _window[i] = _ring[at >= size ? at - size : at];
        }

        _map.Compute(_window.AsSpan(0, n), _saliency);
        int judgement = Math.Min(_options.JudgementWindowSize, n);
        double sum = 0;
        for (int i = n - judgement; i < n; i++)
        {
            sum += _saliency[i];
        }

        double magnitude = _saliency[n - 1];
        double score = Math.Clamp(SaliencyMap.RelativeDeviation(magnitude, sum / judgement) / 10.0, 0, 1);
        return new SrCnnStreamingPoint(score > _options.Threshold, score, magnitude);
    }
}
