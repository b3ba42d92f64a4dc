using System.Numerics;
using ObservaCost.Analytics.TimeSeries.Internal;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>
/// The spectral-residual saliency map (Ren et al., 2019) with ML.NET's constants: the window is extended by
/// <see cref="BackAddCount"/> copies of a value extrapolated from the last points, the log amplitude spectrum minus its
/// moving average gives the residual, and the inverse transform's magnitude is the saliency. One instance keeps its
/// buffers, so repeated calls of equal length allocate nothing but MathNet's own FFT scratch.
/// </summary>
internal sealed class SaliencyMap
{
    public const int BackAddCount = 5;
    public const int LookAheadCount = 5;
    public const int SpectrumAveragingWindow = 3;
    public const double Epsilon = 1e-8;

    private readonly SpectralBuffer _spectrum = new();
    private double[] _amplitude = [];
    private double[] _logAmplitude = [];
    private double[] _averageLogAmplitude = [];

    /// <summary>Minimum number of values: the extrapolation reads the six points before the last one.</summary>
    public const int MinimumLength = LookAheadCount + 2;

    /// <summary>
    /// Writes the saliency of each of <paramref name="values"/> and of the back-added points into
    /// <paramref name="saliency"/> (length ≥ values.Length + <see cref="BackAddCount"/>).
    /// </summary>
    public void Compute(ReadOnlySpan<double> values, Span<double> saliency)
    {
        int n = values.Length;
        if (n < MinimumLength)
        {
            throw new ArgumentException($"Spectral residual needs at least {MinimumLength} points, got {n}.", nameof(values));
        }

        int length = n + BackAddCount;
        double predicted = PredictNext(values.Slice(n - LookAheadCount - 2, LookAheadCount + 1));
        Complex[] spectrum = _spectrum.Ensure(length);
        for (int i = 0; i < n; i++)
        {
            spectrum[i] = new Complex(values[i], 0);
        }

        for (int i = n; i < length; i++)
        {
            spectrum[i] = new Complex(predicted, 0);
        }

        _spectrum.Forward();
        Span<double> amplitude = Buffers.AtLeast(ref _amplitude, length).AsSpan(0, length);
        Span<double> logAmplitude = Buffers.AtLeast(ref _logAmplitude, length).AsSpan(0, length);
        Span<double> average = Buffers.AtLeast(ref _averageLogAmplitude, length).AsSpan(0, length);
        for (int i = 0; i < length; i++)
        {
            amplitude[i] = spectrum[i].Magnitude;
            logAmplitude[i] = amplitude[i] > Epsilon ? Math.Log(amplitude[i]) : 0;
        }

        Buffers.TrailingAverage(logAmplitude, SpectrumAveragingWindow, average);
        for (int i = 0; i < length; i++)
        {
            if (logAmplitude[i] != 0)
            {
                double residual = Math.Exp(logAmplitude[i] - average[i]);
                spectrum[i] *= residual / amplitude[i];
            }
            else
            {
                spectrum[i] = Complex.Zero;
            }
        }

        _spectrum.Inverse();
        for (int i = 0; i < length; i++)
        {
            saliency[i] = spectrum[i].Magnitude;
        }
    }

    /// <summary>ML.NET's extrapolation: the second point plus the sum of the slopes from each point to the last.</summary>
    internal static double PredictNext(ReadOnlySpan<double> window)
    {
        int n = window.Length;
        double slopeSum = 0;
        for (int i = 0; i < n - 1; i++)
        {
            slopeSum += (window[n - 1] - window[i]) / (n - 1 - i);
        }

        return window[1] + slopeSum;
    }

    /// <summary>|saliency − average| / average, the average floored at <see cref="Epsilon"/>.</summary>
    public static double RelativeDeviation(double saliency, double average)
    {
        double divisor = Math.Abs(average) < Epsilon ? Epsilon : average;
        return Math.Abs(saliency - average) / divisor;
    }
}
