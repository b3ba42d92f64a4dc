using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Windows;

/// <summary>Replaces a computed window's points: delete what the window held, then write the new points.</summary>
public static class WindowWriter
{
    public static async Task ReplaceAsync(
        ITimeSeriesStore store,
        DateTimeOffset windowStart,
        TimeSpan windowLength,
        IReadOnlyList<(string Measurement, IEnumerable<ILineProtocolPoint> Points)> sets,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(sets);
        var tags = new Dictionary<string, string>(StringComparer.Ordinal) { [Tags.Window] = CostWindow.WindowTag(windowLength) };
        using var writer = new LineProtocolWriter();
        foreach ((string measurement, IEnumerable<ILineProtocolPoint> points) in sets)
        {
            await store.DeleteAsync(measurement, windowStart, windowStart + windowLength, tags, cancellationToken);
            foreach (ILineProtocolPoint point in points)
            {
                if (!point.WriteTo(writer))
                {
                    throw new InvalidOperationException($"A computed {measurement} point could not be encoded: {writer.LastRejection}");
                }
            }
        }

        await WriteAsync(store, writer, cancellationToken);
    }

    /// <summary>
    /// Replaces what <paramref name="measurement"/> holds in [<paramref name="rangeStart"/>, <paramref name="rangeEnd"/>)
    /// (every series, whatever its tags) with <paramref name="points"/>: delete the range, then write.
    /// </summary>
    public static async Task ReplaceRangeAsync(
        ITimeSeriesStore store,
        string measurement,
        DateTimeOffset rangeStart,
        DateTimeOffset rangeEnd,
        IEnumerable<ILineProtocolPoint> points,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(points);
        await store.DeleteAsync(measurement, rangeStart, rangeEnd, new Dictionary<string, string>(StringComparer.Ordinal), cancellationToken);
        await WriteAsync(store, points, cancellationToken);
    }

    /// <summary>Writes computed points in one batch; a point the store rejects is an error, never dropped silently.</summary>
    public static async Task WriteAsync(ITimeSeriesStore store, IEnumerable<ILineProtocolPoint> points, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(points);
        using var writer = new LineProtocolWriter();
        foreach (ILineProtocolPoint point in points)
        {
            if (!point.WriteTo(writer))
            {
                throw new InvalidOperationException($"A computed point could not be encoded: {writer.LastRejection}");
            }
        }

        await WriteAsync(store, writer, cancellationToken);
    }

    private static async Task WriteAsync(ITimeSeriesStore store, LineProtocolWriter writer, CancellationToken cancellationToken)
    {
        if (writer.PointCount == 0)
        {
            return;
        }

        WriteResult result = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, writer.Precision), cancellationToken);
        if (result.PointsRejected > 0)
        {
            throw new StoreRequestException($"The store rejected {result.PointsRejected} of {writer.PointCount} computed points: {string.Join("; ", result.Errors.Take(3))}");
        }
    }
}
