namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>
/// The forecasters configured for hourly series (GPU and cost metrics rolled up per hour, M4 Hourly): parameter
/// choices are documented in docs/accuracy.md.
/// </summary>
public static class HourlyForecasters
{
    /// <summary>Hours per day: the season of seasonal naive and Holt-Winters, and M4's MASE seasonality.</summary>
    public const int DailySeason = 24;

    /// <summary>Hours per week: the SSA window, so the decomposition sees the weekly pattern whole.</summary>
    public const int WeeklySeason = 168;

    /// <summary>Largest root modulus SSA keeps (per hour, in log space: at most ~27 % growth over 48 hours).</summary>
    public const double SsaMaxGrowth = 1.005;

    public static IForecaster SeasonalNaive() => new SeasonalNaiveForecaster(DailySeason);

    public static IForecaster HoltWinters() => new HoltWintersForecaster(new HoltWintersOptions { SeasonLength = DailySeason });

    public static IForecaster Ssa() => new LogTransformForecaster(new SsaForecaster(new SsaForecastingOptions
    {
        WindowSize = WeeklySeason,
        MaxGrowth = SsaMaxGrowth,
        SingleDecomposition = true,
    }));

    public const string CombinedName = "combined(seasonal-naive, log+ssa)";

    /// <summary>The best on M4 Hourly: the mean of seasonal naive and log-SSA.</summary>
    public static IForecaster Combined() => new CombinedForecaster(CombinedName, SeasonalNaive(), Ssa());

    /// <summary>The single forecasters, seasonal naive first.</summary>
    public static IReadOnlyList<IForecaster> Singles() => [SeasonalNaive(), HoltWinters(), Ssa()];

    /// <summary>The combinations of <see cref="Singles"/> by index: <see cref="Combined"/> is members 0 and 2.</summary>
    public static IReadOnlyList<(string Name, int[] Members)> Combinations() => [(CombinedName, [0, 2])];
}
