using MathNet.Numerics;
using ObservaCost.Analytics.TimeSeries.Internal;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>Which tail of the score distribution is anomalous (ML.NET's AnomalySide).</summary>
public enum AnomalySide
{
    /// <summary>Only unusually high scores.</summary>
    Positive = 0,

    /// <summary>Only unusually low scores.</summary>
    Negative = 1,

    /// <summary>Both tails.</summary>
    TwoSided = 2,
}

/// <summary>
/// The p-value of a raw score against a sliding history of earlier raw scores, from a Gaussian kernel density estimate
/// of that history. Bandwidth: Silverman's rule 1.06·σ̂·n^(−1/5) with a robust spread σ̂ = IQR / 1.349 (the history is
/// kept sorted), floored so a constant history still gives a finite density. The score itself is added to the history
/// after its p-value is computed. O(history) per score, no allocation.
/// </summary>
internal sealed class KernelPValue
{
    private readonly double[] _ring;
    private readonly double[] _sorted;
    private readonly AnomalySide _side;
    private int _count;
    private int _next;

    public KernelPValue(int historyLength, AnomalySide side)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyLength, 2);
        _ring = new double[historyLength];
        _sorted = new double[historyLength];
        _side = side;
    }

    /// <summary>
    /// The natural log of the p-value of <paramref name="score"/> (log 0.5 while the history is empty), then remembers
    /// the score. Kept in logs so that far tails (p far below 1e-300) still order correctly.
    /// </summary>
    public double NextLog(double score)
    {
        double logP = LogPValue(score);
        if (_count == _ring.Length)
        {
            SortedWindow.Remove(_sorted, _count, _ring[_next]);
            _count--;
        }

        _ring[_next] = score;
        _next = (_next + 1) % _ring.Length;
        _count = SortedWindow.Insert(_sorted, _count, score);
        return logP;
    }

    private double LogPValue(double score)
    {
        if (_count == 0)
        {
            return Math.Log(0.5);
        }

        ReadOnlySpan<double> history = _sorted.AsSpan(0, _count);
        double q1 = history[_count / 4];
        double q3 = history[(3 * _count) / 4];
        double spread = (q3 - q1) / 1.349;
        if (!(spread > 0))
        {
            spread = Math.Max(Math.Abs(history[_count - 1] - history[0]) / 2, 1e-8 * Math.Max(1, Math.Abs(history[_count / 2])));
        }

        double scale = 1.0 / (1.06 * spread * Math.Pow(_count, -0.2) * Constants.Sqrt2);

        // One erfc per history value gives both tails (½erfc(−t) = 1 − ½erfc(t)); a tail whose linear sum is too
        // small to trust is recomputed in logs.
        double upper = 0;
        double lower = 0;
        foreach (double x in history)
        {
            double t = (score - x) * scale;
            double tail = 0.5 * SpecialFunctions.Erfc(Math.Abs(t));
            upper += t >= 0 ? tail : 1 - tail;
            lower += t >= 0 ? 1 - tail : tail;
        }

        const double Trusted = 1e-250;
        double logUpper = upper > Trusted ? Math.Log(upper / _count) : LogMeanTail(history, score, scale, +1);
        double logLower = lower > Trusted ? Math.Log(lower / _count) : LogMeanTail(history, score, scale, -1);
        return _side switch
        {
            AnomalySide.Positive => logUpper,
            AnomalySide.Negative => logLower,
            _ => Math.Min(0, Constants.Ln2 + Math.Min(logUpper, logLower)),
        };
    }

    /// <summary>log of the mean over the history of ½·erfc(sign·(score − x)·scale), by log-sum-exp.</summary>
    private static double LogMeanTail(ReadOnlySpan<double> history, double score, double scale, int sign)
    {
        double max = double.NegativeInfinity;
        foreach (double x in history)
        {
            max = Math.Max(max, LogHalfErfc(sign * (score - x) * scale));
        }

        double sum = 0;
        foreach (double x in history)
        {
            sum += Math.Exp(LogHalfErfc(sign * (score - x) * scale) - max);
        }

        return max + Math.Log(sum / history.Length);
    }

    /// <summary>log(½·erfc(t)), with the asymptotic expansion where erfc underflows.</summary>
    private static double LogHalfErfc(double t)
    {
        if (t < 5)
        {
            return Math.Log(0.5 * SpecialFunctions.Erfc(t));
        }

        double t2 = t * t;
        return -t2 - Math.Log(t * Math.Sqrt(Math.PI)) - Constants.Ln2 + Math.Log(1 - (1 / (2 * t2)) + (3 / (4 * t2 * t2)));
    }
}
