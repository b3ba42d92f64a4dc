using BenchmarkDotNet.Attributes;
using ObservaCost.Analytics.TimeSeries.Anomaly;
using ObservaCost.Analytics.TimeSeries.Forecasting;

namespace ObservaCost.Benchmarks;

/// <summary>
/// Time-series ML: batch spectral residual over 1M points (ML.NET's default batch of 1024), streaming SR per point,
/// SSA training on 1,000 points with L = 48, and one M4 Hourly forecast by the combined forecaster.
/// </summary>
[MemoryDiagnoser]
public class TimeSeriesBenchmarks
{
    private const int BatchPoints = 1_000_000;
    private const int StreamPoints = 10_000;

    private double[] _series = [];
    private double[] _training = [];
    private double[] _hourly = [];
    private SrAnomalyPoint[] _results = [];
    private SrCnnEntireDetector _anomalyOnly = null!;
    private SrCnnEntireDetector _withMargin = null!;
    private SsaForecaster _ssa = null!;
    private IForecaster _combined = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _series = new double[BatchPoints];
        for (int i = 0; i < BatchPoints; i++)
        {
            _series[i] = 50 + (10 * Math.Sin(2 * Math.PI * i / 288)) + random.NextDouble() + (i % 5_000 == 0 ? 40 : 0);
        }

        _training = _series[..1000];
        _hourly = new double[840];
        for (int i = 0; i < _hourly.Length; i++)
        {
            _hourly[i] = 100 + (30 * Math.Sin(2 * Math.PI * i / 24)) + (10 * Math.Sin(2 * Math.PI * i / 168)) + (5 * random.NextDouble());
        }

        _results = new SrAnomalyPoint[BatchPoints];
        _anomalyOnly = new SrCnnEntireDetector(new SrCnnEntireOptions { DetectMode = SrCnnDetectMode.AnomalyOnly });
        _withMargin = new SrCnnEntireDetector(new SrCnnEntireOptions { DetectMode = SrCnnDetectMode.AnomalyAndMargin });
        _ssa = new SsaForecaster(new SsaForecastingOptions { WindowSize = 48 });
        _combined = HourlyForecasters.Combined();
    }

    /// <summary>One operation: 1M points, batch 1024, flags/scores/magnitudes only.</summary>
    [Benchmark]
    public void SrBatch1MAnomalyOnly() => _anomalyOnly.Detect(_series, _results);

    /// <summary>One operation: 1M points, batch 1024, with expected values and margins.</summary>
    [Benchmark]
    public void SrBatch1MWithMargin() => _withMargin.Detect(_series, _results);

    /// <summary>One operation: one new point through the streaming detector (window 64).</summary>
    [Benchmark(OperationsPerInvoke = StreamPoints)]
    public double SrStreamingPerPoint()
    {
        var detector = new SrCnnStreamingDetector(new SrCnnOptions());
        double sum = 0;
        for (int i = 0; i < StreamPoints; i++)
        {
            sum += detector.Add(_series[i]).RawScore;
        }

        return sum;
    }

    /// <summary>One operation: one new point through the contextual novelty detector (8 levels, order 3).</summary>
    [Benchmark(OperationsPerInvoke = StreamPoints)]
    public double ContextualPerPoint()
    {
        var detector = new ContextualNoveltyDetector();
        double sum = 0;
        for (int i = 0; i < StreamPoints; i++)
        {
            sum += detector.Add(_series[i]);
        }

        return sum;
    }

    /// <summary>One operation: one new point through the IID spike detector (history 2016), as iid-spike scores NAB.</summary>
    [Benchmark(OperationsPerInvoke = StreamPoints)]
    public double IidSpikePerPoint()
    {
        var detector = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: 2016, side: AnomalySide.TwoSided);
        double sum = 0;
        for (int i = 0; i < StreamPoints; i++)
        {
            sum += detector.Add(_series[i]).LogPValue;
        }

        return sum;
    }

    /// <summary>
    /// One operation: one new point through the adaptive-resonance detector (probation 750 points, as NAB gives a
    /// long file; the probation's clustering is amortised over the 10,000 points).
    /// </summary>
    [Benchmark(OperationsPerInvoke = StreamPoints)]
    public double AdaptiveResonancePerPoint()
    {
        var detector = new AdaptiveResonanceDetector(probationRows: 750);
        double sum = 0;
        for (int i = 0; i < StreamPoints; i++)
        {
            sum += detector.Add(_series[i]);
        }

        return sum;
    }

    /// <summary>One operation: SSA fit on 1,000 points (L = 48, rank back-tested) and a 48-step forecast.</summary>
    [Benchmark]
    public double SsaTrain1000L48() => _ssa.Forecast(_training, 48).Point[0];

    /// <summary>One operation: one M4-sized hourly series (840 points) forecast 48 h by the combined forecaster.</summary>
    [Benchmark]
    public double CombinedForecastHourly840() => _combined.Forecast(_hourly, 48).Point[0];
}
