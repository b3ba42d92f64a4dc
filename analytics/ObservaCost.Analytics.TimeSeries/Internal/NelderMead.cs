namespace ObservaCost.Analytics.TimeSeries.Internal;

/// <summary>
/// A small Nelder–Mead minimiser (standard coefficients) for a handful of parameters: fixed iteration budget, no
/// exception when the budget runs out (the best vertex is returned), no allocation per iteration.
/// </summary>
internal static class NelderMead
{
    public delegate double Objective(ReadOnlySpan<double> parameters);

    public static double Minimise(Objective objective, Span<double> start, double step, int maxIterations, double tolerance = 1e-10)
    {
        int d = start.Length;
        var simplex = new double[d + 1][];
        var values = new double[d + 1];
        for (int i = 0; i <= d; i++)
        {
            simplex[i] = start.ToArray();
            if (i > 0)
            {
                simplex[i][i - 1] += step;
            }

            values[i] = objective(simplex[i]);
        }

        var centroid = new double[d];
        var reflected = new double[d];
        var trial = new double[d];
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            Array.Sort(values, simplex);
            if (Math.Abs(values[d] - values[0]) <= tolerance * (Math.Abs(values[0]) + tolerance))
            {
                break;
            }

            Array.Clear(centroid);
            for (int i = 0; i < d; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    centroid[j] += simplex[i][j] / d;
                }
            }

            for (int j = 0; j < d; j++)
            {
                reflected[j] = centroid[j] + (centroid[j] - simplex[d][j]);
            }

            double reflectedValue = objective(reflected);
            if (reflectedValue < values[0])
            {
                for (int j = 0; j < d; j++)
                {
                    trial[j] = centroid[j] + (2 * (centroid[j] - simplex[d][j]));
                }

                double expandedValue = objective(trial);
                Replace(simplex, values, d, expandedValue < reflectedValue ? trial : reflected, Math.Min(expandedValue, reflectedValue));
                continue;
            }

            if (reflectedValue < values[d - 1])
            {
                Replace(simplex, values, d, reflected, reflectedValue);
                continue;
            }

            bool outside = reflectedValue < values[d];
            for (int j = 0; j < d; j++)
            {
                trial[j] = outside
                    ? centroid[j] + (0.5 * (reflected[j] - centroid[j]))
                    : centroid[j] + (0.5 * (simplex[d][j] - centroid[j]));
            }

            double contractedValue = objective(trial);
            if (contractedValue < Math.Min(reflectedValue, values[d]))
            {
                Replace(simplex, values, d, trial, contractedValue);
                continue;
            }

            for (int i = 1; i <= d; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    simplex[i][j] = simplex[0][j] + (0.5 * (simplex[i][j] - simplex[0][j]));
                }

                values[i] = objective(simplex[i]);
            }
        }

        Array.Sort(values, simplex);
        simplex[0].CopyTo(start);
        return values[0];
    }

    private static void Replace(double[][] simplex, double[] values, int index, double[] point, double value)
    {
        point.CopyTo(simplex[index], 0);
        values[index] = value;
    }
}
