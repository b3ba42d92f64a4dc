namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>A change-point detector's output for one point (ML.NET's Alert, Raw Score, P-Value, Martingale).</summary>
/// <param name="Alert">The log-martingale crossed ln(1/α), α = 1 − confidence/100.</param>
/// <param name="RawScore">The value.</param>
/// <param name="PValue">Two-sided p-value of the value against the recent history.</param>
/// <param name="LogMartingale">Sum of the log-bets over the last <c>changeHistoryLength</c> points.</param>
public readonly record struct ChangePointResult(bool Alert, double RawScore, double PValue, double LogMartingale);

/// <summary>
/// IID change-point detection (ML.NET's <c>DetectIidChangePoint</c>): each value's p-value p against the recent
/// history (kernel density, as <see cref="IidSpikeDetector"/>) is bet on with the power martingale,
/// log-bet = ln ε + (ε − 1)·ln p (ε = 0.1), so a run of small p-values makes the sum grow. The log-martingale is the
/// sum over the last <c>changeHistoryLength</c> bets; by Ville's inequality it exceeds ln(1/α) by chance with
/// probability at most α, which is when it alerts. p-values are floored at 1e-12 so one outlier cannot carry the sum.
/// </summary>
public sealed class ChangePointDetector
{
    private const double Epsilon = 0.1;
    private static readonly double MinimumLogP = Math.Log(1e-12);

    private readonly KernelPValue _pValue;
    private readonly double[] _bets;
    private readonly double _logThreshold;
    private double _sum;
    private long _count;

    /// <param name="confidence">Confidence in percent, (0, 100).</param>
    /// <param name="changeHistoryLength">Bets the martingale sums over.</param>
    /// <param name="pvalueHistoryLength">Values each p-value is computed against.</param>
    public ChangePointDetector(double confidence = 95, int changeHistoryLength = 20, int pvalueHistoryLength = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(changeHistoryLength, 1);
        _logThreshold = -Math.Log(SpikeMath.Alpha(confidence));
        _bets = new double[changeHistoryLength];
        _pValue = new KernelPValue(pvalueHistoryLength, AnomalySide.TwoSided);
    }

    public ChangePointResult Add(double value)
    {
        double logP = _pValue.NextLog(value);
        double bet = Math.Log(Epsilon) + ((Epsilon - 1) * Math.Max(logP, MinimumLogP));
        int slot = (int)(_count % _bets.Length);
        _sum += bet - _bets[slot];
        _bets[slot] = bet;
        _count++;
        return new ChangePointResult(_sum > _logThreshold, value, Math.Exp(logP), _sum);
    }
}
