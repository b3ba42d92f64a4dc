namespace ObservaCost.Analytics.TimeSeries.Internal;

internal static class Statistics
{
    public static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (double v in values)
        {
            sum += v;
        }

        return values.Length == 0 ? 0 : sum / values.Length;
    }

    /// <summary>Median; sorts <paramref name="values"/>.</summary>
    public static double MedianInPlace(Span<double> values)
    {
        values.Sort();
        return SortedWindow.Median(values, values.Length);
    }
}

/// <summary>A sorted window kept in an array: insert and remove by binary search.</summary>
internal static class SortedWindow
{
    public static int Insert(double[] sorted, int size, double value)
    {
        int at = UpperBound(sorted, size, value);
        Array.Copy(sorted, at, sorted, at + 1, size - at);
        sorted[at] = value;
        return size + 1;
    }

    public static int Remove(double[] sorted, int size, double value)
    {
        int at = UpperBound(sorted, size, value) - 1;
        Array.Copy(sorted, at + 1, sorted, at, size - at - 1);
        return size - 1;
    }

    public static double Median(ReadOnlySpan<double> sorted, int size)
    {
        if (size == 0)
        {
            return 0;
        }

        int mid = size / 2;
        return size % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static int UpperBound(double[] sorted, int size, double value)
    {
        int low = 0;
        int high = size;
        while (low < high)
        {
            int mid = low + ((high - low) / 2);
            if (sorted[mid] <= value)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }
}
