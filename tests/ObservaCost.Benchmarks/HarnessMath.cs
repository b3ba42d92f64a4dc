using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Benchmarks;

/// <summary>Shared by the harnesses: medians and pre-encoded 5000-line batches.</summary>
internal static class HarnessMath
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static List<byte[]> Encode(GpuSample[] samples, int batch)
    {
        var batches = new List<byte[]>();
        using var writer = new LineProtocolWriter();
        foreach (GpuSample sample in samples)
        {
            sample.WriteTo(writer);
            if (writer.PointCount == batch)
            {
                batches.Add(writer.WrittenSpan.ToArray());
                writer.Reset();
            }
        }

        if (writer.PointCount > 0)
        {
            batches.Add(writer.WrittenSpan.ToArray());
        }

        return batches;
    }
}
