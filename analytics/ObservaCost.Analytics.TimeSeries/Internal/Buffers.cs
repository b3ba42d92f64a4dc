namespace ObservaCost.Analytics.TimeSeries.Internal;

internal static class Buffers
{
    /// <summary>Grows <paramref name="buffer"/> to at least <paramref name="length"/> (contents are not kept).</summary>
    public static double[] AtLeast(ref double[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new double[Math.Max(length, buffer.Length * 2)];
        }

        return buffer;
    }

    /// <summary>Trailing moving average as ML.NET computes it: the first n − 1 entries average what is there.</summary>
    public static void TrailingAverage(ReadOnlySpan<double> data, int window, Span<double> average)
    {
        double cumulative = 0;
        for (int i = 0; i < data.Length; i++)
        {
            cumulative += data[i];
            average[i] = cumulative;
        }

        for (int i = data.Length - 1; i >= window; i--)
        {
            average[i] = (average[i] - average[i - window]) / window;
        }

        for (int i = 1; i < Math.Min(window, data.Length); i++)
        {
            average[i] /= i + 1;
        }
    }

    /// <summary>Mean and population standard deviation.</summary>
    public static (double Mean, double StdDev) MeanStd(ReadOnlySpan<double> values)
    {
        double sum = 0;
        double squares = 0;
        foreach (double v in values)
        {
            sum += v;
            squares += v * v;
        }

        double mean = sum / values.Length;
        double variance = Math.Max(0, (squares - (sum * sum / values.Length)) / values.Length);
        return (mean, Math.Sqrt(variance));
    }
}
