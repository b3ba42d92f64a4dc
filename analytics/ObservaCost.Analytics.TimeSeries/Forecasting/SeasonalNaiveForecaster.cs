namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>
/// Seasonal naive: each step repeats the value one season earlier, ŷ(T + h) = y(T + h − m·⌈h/m⌉). With no season
/// configured it detects one (<see cref="SeasonDetector"/>, up to <see cref="MaxDetectedSeason"/>) and falls back to
/// naive (m = 1). Bounds: σ of the in-sample seasonal differences times √⌈h/m⌉.
/// </summary>
public sealed class SeasonalNaiveForecaster : IForecaster
{
    public const int MaxDetectedSeason = 200;

    private readonly int _seasonLength;
    private readonly double _z;

    /// <param name="seasonLength">Season in points; 0 to detect it from each history.</param>
    /// <param name="confidenceLevel">Coverage of the bounds.</param>
    public SeasonalNaiveForecaster(int seasonLength = 0, double confidenceLevel = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seasonLength);
        _seasonLength = seasonLength;
        _z = ForecastMath.ZScore(confidenceLevel);
    }

    public string Name => _seasonLength > 0 ? "seasonal-naive(m=" + _seasonLength.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")" : "seasonal-naive(auto)";

    public ForecastResult Forecast(ReadOnlySpan<double> history, int horizon)
    {
        ForecastMath.EnsureHorizon(horizon);
        if (history.IsEmpty)
        {
            throw new ArgumentException("The history is empty.", nameof(history));
        }

        int m = _seasonLength > 0 ? _seasonLength : SeasonDetector.DetectPrimarySeason(history, MaxDetectedSeason, fallback: 1);
        m = Math.Min(m, history.Length);
        int n = history.Length;
        var point = new double[horizon];
        for (int h = 1; h <= horizon; h++)
        {
            int cycles = (h + m - 1) / m;
            point[h - 1] = history[n + h - 1 - (m * cycles)];
        }

        double sumSquares = 0;
        for (int i = m; i < n; i++)
        {
            double d = history[i] - history[i - m];
            sumSquares += d * d;
        }

        double sigma = n > m ? Math.Sqrt(sumSquares / (n - m)) : 0;
        Span<double> sigmaByStep = horizon <= 512 ? stackalloc double[horizon] : new double[horizon];
        for (int h = 1; h <= horizon; h++)
        {
            sigmaByStep[h - 1] = sigma * Math.Sqrt((h + m - 1) / m);
        }

        return ForecastMath.WithBounds(point, sigmaByStep, _z);
    }
}
