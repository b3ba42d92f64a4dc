using BenchmarkDotNet.Attributes;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Benchmarks;

/// <summary>Encoding GPU samples (all 12 tags, 8 fields) into line protocol; figures are per point.</summary>
public class LineProtocolEncodingBenchmarks
{
    private const int Points = 10_000;
    private GpuSample[] _samples = [];
    private LineProtocolWriter _writer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _samples = Fleet.Samples(Points, new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero));
        _writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 8 * 1024 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    [Benchmark(OperationsPerInvoke = Points)]
    public int EncodeGpuSample()
    {
        _writer.Reset();
        foreach (GpuSample sample in _samples)
        {
            sample.WriteTo(_writer);
        }

        return _writer.Length;
    }
}
