namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>A point forecast with its confidence bounds (same length: the horizon).</summary>
/// <param name="Point">Forecast values, one per step ahead.</param>
/// <param name="LowerBound">Lower confidence bound per step.</param>
/// <param name="UpperBound">Upper confidence bound per step.</param>
public sealed record ForecastResult(double[] Point, double[] LowerBound, double[] UpperBound);

/// <summary>
/// Forecasts the next <c>horizon</c> points of a series from its history. Implementations are pure (no state kept
/// between calls beyond their options and reusable buffers) and not thread-safe.
/// </summary>
public interface IForecaster
{
    /// <summary>Short name used in reports.</summary>
    string Name { get; }

    /// <summary>Fits on <paramref name="history"/> and forecasts <paramref name="horizon"/> steps.</summary>
    ForecastResult Forecast(ReadOnlySpan<double> history, int horizon);
}

/// <summary>Shared helpers for forecasters.</summary>
internal static class ForecastMath
{
    /// <summary>z such that Φ(z) = 0.5 + level / 2.</summary>
    public static double ZScore(double confidenceLevel)
    {
        if (!(confidenceLevel > 0 && confidenceLevel < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidenceLevel), confidenceLevel, "The confidence level must be in (0, 1).");
        }

        return MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, 0.5 + (confidenceLevel / 2));
    }

    /// <summary>Bounds point ± z·σ_h.</summary>
    public static ForecastResult WithBounds(double[] point, ReadOnlySpan<double> sigmaByStep, double z)
    {
        var lower = new double[point.Length];
        var upper = new double[point.Length];
        for (int h = 0; h < point.Length; h++)
        {
            lower[h] = point[h] - (z * sigmaByStep[h]);
            upper[h] = point[h] + (z * sigmaByStep[h]);
        }

        return new ForecastResult(point, lower, upper);
    }

    public static void EnsureHorizon(int horizon)
    {
        if (horizon < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be at least 1.");
        }
    }
}
