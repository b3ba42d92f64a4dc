using System.Globalization;
using ObservaCost.Analytics.TimeSeries.Forecasting;

namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>A spike detector's output for one point (ML.NET's Alert, Raw Score, P-Value).</summary>
/// <param name="Alert">p ≤ 1 − confidence / 100.</param>
/// <param name="RawScore">The value (IID) or the value minus the one-step SSA prediction (SSA).</param>
/// <param name="PValue">Probability of a raw score at least this extreme under the recent history.</param>
/// <param name="LogPValue">Natural log of <paramref name="PValue"/>, exact where the p-value underflows to 0.</param>
public readonly record struct SpikePoint(bool Alert, double RawScore, double PValue, double LogPValue);

/// <summary>
/// IID spike detection (ML.NET's <c>DetectIidSpike</c>): each value's p-value against the last
/// <c>pvalueHistoryLength</c> values (kernel density, <see cref="AnomalySide"/>); alert when p ≤ 1 − confidence/100.
/// </summary>
public sealed class IidSpikeDetector
{
    private readonly KernelPValue _pValue;
    private readonly double _logAlpha;

    /// <param name="confidence">Confidence in percent, (0, 100).</param>
    /// <param name="pvalueHistoryLength">Values the p-value is computed against.</param>
    /// <param name="side">Which tail alerts.</param>
    public IidSpikeDetector(double confidence = 99, int pvalueHistoryLength = 100, AnomalySide side = AnomalySide.TwoSided)
    {
        _logAlpha = Math.Log(SpikeMath.Alpha(confidence));
        _pValue = new KernelPValue(pvalueHistoryLength, side);
    }

    public SpikePoint Add(double value)
    {
        double logP = _pValue.NextLog(value);
        return new SpikePoint(logP <= _logAlpha, value, Math.Exp(logP), logP);
    }
}

/// <summary>
/// SSA spike detection (ML.NET's <c>DetectSpikeBySsa</c>): an SSA model trained on the first
/// <c>trainingWindowSize</c> points predicts each next point one step ahead from the last <c>seasonalityWindowSize</c>
/// points; the raw score is actual − prediction and its p-value is taken against the last <c>pvalueHistoryLength</c>
/// raw scores. The model is refitted every <c>trainingWindowSize</c> points on the most recent ones (adaptive).
/// </summary>
public sealed class SsaSpikeDetector
{
    private readonly int _trainingWindowSize;
    private readonly int _windowSize;
    private readonly KernelPValue _pValue;
    private readonly double _logAlpha;
    private readonly double[] _history;
    private readonly double[] _ordered;
    private SsaForecaster.SsaPredictor? _model;
    private int _count;
    private int _sinceFit;

    public SsaSpikeDetector(double confidence = 99, int pvalueHistoryLength = 100, int trainingWindowSize = 300, int seasonalityWindowSize = 24, AnomalySide side = AnomalySide.TwoSided)
    {
        if (trainingWindowSize <= 2 * seasonalityWindowSize || seasonalityWindowSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(trainingWindowSize), string.Create(CultureInfo.InvariantCulture, $"Need seasonalityWindowSize ≥ 2 and trainingWindowSize > 2·seasonalityWindowSize (got {seasonalityWindowSize}, {trainingWindowSize})."));
        }

        _logAlpha = Math.Log(SpikeMath.Alpha(confidence));
        _trainingWindowSize = trainingWindowSize;
        _windowSize = seasonalityWindowSize;
        _pValue = new KernelPValue(pvalueHistoryLength, side);
        _history = new double[trainingWindowSize];
        _ordered = new double[trainingWindowSize];
    }

    public SpikePoint Add(double value)
    {
        SpikePoint result;
        if (_model is not null)
        {
            double predicted = _model.PredictNext(Ordered());
            double raw = value - predicted;
            double logP = _pValue.NextLog(raw);
            result = new SpikePoint(logP <= _logAlpha, raw, Math.Exp(logP), logP);
        }
        else
        {
            result = new SpikePoint(false, 0, 0.5, Math.Log(0.5));
        }

        _history[_count % _trainingWindowSize] = value;
        _count++;
        _sinceFit++;
        if (_count >= _trainingWindowSize && (_model is null || _sinceFit >= _trainingWindowSize))
        {
            _model = SsaForecaster.Train(Ordered(), _windowSize);
            _sinceFit = 0;
        }

        return result;
    }

    private ReadOnlySpan<double> Ordered()
    {
        int n = Math.Min(_count, _trainingWindowSize);
        for (int i = 0; i < n; i++)
        {
            _ordered[i] = _history[(_count - n + i) % _trainingWindowSize];
        }

        return _ordered.AsSpan(0, n);
    }
}

internal static class SpikeMath
{
    public static double Alpha(double confidence)
    {
        if (!(confidence > 0 && confidence < 100))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "Confidence is a percentage in (0, 100).");
        }

        return 1 - (confidence / 100);
    }
}
