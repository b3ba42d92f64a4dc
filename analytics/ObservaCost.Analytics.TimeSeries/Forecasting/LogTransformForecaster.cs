namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>
/// Forecasts the logarithm of a strictly positive history with the inner forecaster and maps point and bounds back
/// with exp: additive seasonality in log space is multiplicative in the data (an hourly load whose daily swing grows
/// with its level), and forecasts stay positive. A history with a value ≤ 0 goes to the inner forecaster unchanged.
/// </summary>
public sealed class LogTransformForecaster : IForecaster
{
    private readonly IForecaster _inner;
    private double[] _logHistory = [];

    public LogTransformForecaster(IForecaster inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    public string Name => "log+" + _inner.Name;

    public ForecastResult Forecast(ReadOnlySpan<double> history, int horizon)
    {
        foreach (double v in history)
        {
            if (!(v > 0))
            {
                return _inner.Forecast(history, horizon);
            }
        }

        if (_logHistory.Length != history.Length)
        {
            _logHistory = new double[history.Length];
        }

        for (int i = 0; i < history.Length; i++)
        {
            _logHistory[i] = Math.Log(history[i]);
        }

        ForecastResult inLogs = _inner.Forecast(_logHistory, horizon);
        Exp(inLogs.Point);
        Exp(inLogs.LowerBound);
        Exp(inLogs.UpperBound);
        return inLogs;
    }

    private static void Exp(double[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Math.Exp(values[i]);
        }
    }
}

/// <summary>
/// Forecast combination: the mean of its members' point forecasts (bounds: the mean of the members' bounds). Averaging
/// a seasonal naive and an SSA forecast cancels much of each one's error on M4 Hourly (see docs/accuracy.md).
/// </summary>
public sealed class CombinedForecaster : IForecaster
{
    private readonly IForecaster[] _members;

    public CombinedForecaster(string name, params IForecaster[] members)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(members);
        if (members.Length == 0)
        {
            throw new ArgumentException("A combination needs at least one member.", nameof(members));
        }

        Name = name;
        _members = members;
    }

    public string Name { get; }

    public ForecastResult Forecast(ReadOnlySpan<double> history, int horizon)
    {
        ForecastMath.EnsureHorizon(horizon);
        var point = new double[horizon];
        var lower = new double[horizon];
        var upper = new double[horizon];
        foreach (IForecaster member in _members)
        {
            ForecastResult result = member.Forecast(history, horizon);
            for (int h = 0; h < horizon; h++)
            {
                point[h] += result.Point[h] / _members.Length;
                lower[h] += result.LowerBound[h] / _members.Length;
                upper[h] += result.UpperBound[h] / _members.Length;
            }
        }

        return new ForecastResult(point, lower, upper);
    }
}
