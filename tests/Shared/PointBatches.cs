using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Testing;

/// <summary>Writes records straight to a store in batches of a fixed number of points, as tests and harnesses need (the product writes only through the collector's spool and forwarder).</summary>
public static class PointBatches
{
    /// <summary>Encodes <paramref name="points"/> and writes them in batches of <paramref name="batchPoints"/>; returns the store's totals.</summary>
    public static async Task<WriteResult> WriteAllAsync(ITimeSeriesStore store, IEnumerable<ILineProtocolPoint> points, WritePrecision precision, int batchPoints = 5_000)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(points);
        int written = 0;
        int rejected = 0;
        var errors = new List<string>();
        using var writer = new LineProtocolWriter(precision);
        int inBatch = 0;
        foreach (ILineProtocolPoint point in points)
        {
            if (!point.WriteTo(writer))
            {
                throw new ArgumentException("a point the encoder refuses: " + writer.LastRejection, nameof(points));
            }

            if (++inBatch == batchPoints)
            {
                await FlushAsync();
            }
        }

        await FlushAsync();
        return new WriteResult(written, rejected, errors);

        async Task FlushAsync()
        {
            if (inBatch == 0)
            {
                return;
            }

            WriteResult result = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, inBatch, precision));
            written += result.PointsWritten;
            rejected += result.PointsRejected;
            errors.AddRange(result.Errors);
            writer.Reset();
            inBatch = 0;
        }
    }
}
