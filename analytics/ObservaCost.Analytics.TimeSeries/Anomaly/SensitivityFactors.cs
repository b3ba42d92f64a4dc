namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>
/// ML.NET's margin factor per sensitivity (0–100), generated from its piecewise definition: for s = k + 5,
/// 0.8(s − 30)² + 32 below 30, then linear pieces −1.25s + 67.5 (30–49), −0.4s + 25 (50–59), −0.04s + 3.4 (60–69),
/// −0.03s + 2.7 (70–79), −0.015s + 1.5 (80–89), −0.0118s + 1.2136 (90–97 and 99), then 0.012, five steps from 0.008
/// down by 0.001925, and 0 at sensitivity 100. Fractional sensitivities interpolate linearly.
/// </summary>
internal static class SensitivityFactors
{
    private static readonly double[] Factors = Build();

    public static double At(double sensitivity)
    {
        int lower = (int)Math.Floor(sensitivity);
        if (lower >= 100)
        {
            return Factors[100];
        }

        double fraction = sensitivity - lower;
        return Factors[lower] + ((Factors[lower + 1] - Factors[lower]) * fraction);
    }

    /// <summary>
    /// The sensitivity (as a fraction in [0, 1]) at which a point at <paramref name="distanceInUnits"/> would just leave
    /// the margin; clipped to 1 beyond the widest margin (ML.NET lets it exceed 1 there).
    /// </summary>
    public static double Score(double distanceInUnits)
    {
        int low = 0;
        int high = 100;
        while (low < high)
        {
            int mid = (low + high) / 2;
            if (Factors[100 - mid] < distanceInUnits)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        if (low == 0 || Factors[100 - low] == distanceInUnits)
        {
            return low / 100.0;
        }

        double lowerMargin = Factors[101 - low];
        double upperMargin = Factors[100 - low];
        return Math.Min(1.0, (low - 1 + ((distanceInUnits - lowerMargin) / (upperMargin - lowerMargin))) / 100.0);
    }

    private static double[] Build()
    {
        var raw = new List<double>(106);
        for (int s = 0; s < 30; s++)
        {
            raw.Add((0.8 * (s - 30) * (s - 30)) + 32);
        }

        for (int s = 30; s < 50; s++)
        {
            raw.Add((-1.25 * s) + 67.5);
        }

        for (int s = 50; s < 60; s++)
        {
            raw.Add((-0.4 * s) + 25);
        }

        for (int s = 60; s < 70; s++)
        {
            raw.Add((-0.04 * s) + 3.4);
        }

        for (int s = 70; s < 80; s++)
        {
            raw.Add((-0.03 * s) + 2.7);
        }

        for (int s = 80; s < 90; s++)
        {
            raw.Add((-0.015 * s) + 1.5);
        }

        const double Slope = -0.011818181818181818;
        const double Intercept = 1.2136363636363636;
        for (int s = 90; s < 98; s++)
        {
            raw.Add((Slope * s) + Intercept);
        }

        raw.Add((Slope * 99) + Intercept);
        raw.Add(0.012);
        for (int i = 0; i < 5; i++)
        {
            raw.Add(0.008 - (0.001925 * i));
        }

        raw.Add(0);
        return raw.Skip(5).ToArray();
    }
}
