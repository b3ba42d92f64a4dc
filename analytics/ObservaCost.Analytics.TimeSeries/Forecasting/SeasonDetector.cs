namespace ObservaCost.Analytics.TimeSeries.Forecasting;

/// <summary>
/// Finds seasons from the autocorrelation function: a season is a lag whose autocorrelation is a local maximum of at
/// least <see cref="MinimumAutocorrelation"/> and not a harmonic of a shorter season (so hourly data give the daily 24,
/// and the weekly 168 only when it stands above days 6 and 8).
/// </summary>
public static class SeasonDetector
{
    /// <summary>Autocorrelation a peak must reach to count as a season.</summary>
    public const double MinimumAutocorrelation = 0.2;

    /// <summary>How far a peak on a multiple of a season must stand above its neighbours to be a season itself.</summary>
    public const double HarmonicMargin = 0.05;

    /// <summary>The detected seasons, shortest first (empty when none).</summary>
    public static IReadOnlyList<int> DetectSeasons(ReadOnlySpan<double> values, int maxPeriod)
    {
        int n = values.Length;
        maxPeriod = Math.Min(maxPeriod, (n / 2) - 1);
        if (maxPeriod < 2)
        {
            return [];
        }

        double[] acf = Autocorrelation(values, maxPeriod + 1);
        var peaks = new List<int>();
        for (int lag = 2; lag <= maxPeriod; lag++)
        {
            bool isPeak = acf[lag] > acf[lag - 1] && (lag == maxPeriod || acf[lag] >= acf[lag + 1]);
            if (isPeak && acf[lag] >= MinimumAutocorrelation)
            {
                peaks.Add(lag);
            }
        }

        // Peaks in order of lag: a peak on an exact multiple of a season is a harmonic unless it stands clearly above
        // the autocorrelation one season either side (the week of hourly data stands above days 6 and 8); a peak
        // near, but not on, a multiple is a noisy harmonic; any other peak starts a season of its own.
        var seasons = new List<int>();
        foreach (int lag in peaks)
        {
            int baseSeason = seasons.FirstOrDefault(s => lag % s == 0);
            if (baseSeason == 0)
            {
                if (!seasons.Any(s => IsNear(lag, (int)Math.Round(lag / (double)s) * s)))
                {
                    seasons.Add(lag);
                }

                continue;
            }

            double before = acf[lag - baseSeason];
            double after = lag + baseSeason < acf.Length ? acf[lag + baseSeason] : double.NegativeInfinity;
            if (acf[lag] > Math.Max(before, after) + HarmonicMargin)
            {
                seasons.Add(lag);
            }
        }

        return seasons;
    }

    /// <summary>The shortest season, or <paramref name="fallback"/> when none is found.</summary>
    public static int DetectPrimarySeason(ReadOnlySpan<double> values, int maxPeriod, int fallback = 0)
    {
        IReadOnlyList<int> seasons = DetectSeasons(values, maxPeriod);
        return seasons.Count > 0 ? seasons[0] : fallback;
    }

    /// <summary>Sample autocorrelation for lags 0..<paramref name="lags"/> − 1.</summary>
    public static double[] Autocorrelation(ReadOnlySpan<double> values, int lags)
    {
        int n = values.Length;
        double mean = 0;
        foreach (double v in values)
        {
            mean += v;
        }

        mean /= n;
        double variance = 0;
        foreach (double v in values)
        {
            variance += (v - mean) * (v - mean);
        }

        var acf = new double[lags];
        if (variance == 0)
        {
            return acf;
        }

        for (int lag = 0; lag < lags; lag++)
        {
            double sum = 0;
            for (int i = lag; i < n; i++)
            {
                sum += (values[i] - mean) * (values[i - lag] - mean);
            }

            acf[lag] = sum / variance;
        }

        return acf;
    }

    private static bool IsNear(int a, int b) => Math.Abs(a - b) <= Math.Max(1, Math.Min(a, b) / 10);
}
