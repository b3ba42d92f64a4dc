using ObservaCost.Analytics.TimeSeries.Anomaly;

namespace ObservaCost.Analytics.TimeSeries.Tests.Anomaly;

public sealed class SrCnnEntireDetectorTests
{
    private static double[] ConstantWithSpike(int length, int spikeAt, double level = 5, double spike = 50)
    {
        double[] values = Enumerable.Repeat(level, length).ToArray();
        values[spikeAt] = spike;
        return values;
    }

    [Fact]
    public void Detect_ConstantSeriesWithOneSpike_FlagsOnlyTheSpike()
    {
        double[] values = ConstantWithSpike(200, 120);

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, new SrCnnEntireOptions { BatchSize = -1 });

        Assert.Equal([120], results.Select((r, i) => (r, i)).Where(x => x.r.IsAnomaly).Select(x => x.i));
        Assert.True(results[120].RawScore > 0.3);
        Assert.True(results[120].Magnitude > results[60].Magnitude);
    }

    [Fact]
    public void Detect_WithMargin_SpikeLiesOutsideBoundsAndExpectedValueStaysNearLevel()
    {
        double[] values = new double[300];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = 10 + Math.Sin(2 * Math.PI * i / 30);
        }

        values[150] = 40;

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, new SrCnnEntireOptions { BatchSize = -1, DetectMode = SrCnnDetectMode.AnomalyAndMargin, Sensitivity = 90 });

        SrAnomalyPoint spike = results[150];
        Assert.True(spike.IsAnomaly);
        Assert.InRange(spike.ExpectedValue, 8, 12);
        Assert.True(spike.UpperBoundary < 40 && spike.LowerBoundary < spike.ExpectedValue);
        Assert.True(spike.BoundaryUnit > 0);
        Assert.Single(results, r => r.IsAnomaly);
    }

    [Fact]
    public void Detect_ExpectedValueMode_ReconstructsSmoothSeries()
    {
        double[] values = new double[256];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = 20 + (3 * Math.Sin(2 * Math.PI * i / 32));
        }

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, new SrCnnEntireOptions { BatchSize = -1, DetectMode = SrCnnDetectMode.AnomalyAndExpectedValue });

        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], results[i].ExpectedValue, 1e-9);
        }
    }

    [Theory]
    [InlineData(SrCnnDeseasonalityMode.Mean)]
    [InlineData(SrCnnDeseasonalityMode.Median)]
    public void Detect_WithPeriod_FlagsSpikeAndExpectedValueFollowsSeason(SrCnnDeseasonalityMode mode)
    {
        double[] values = new double[480];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = 100 + (40 * Math.Sin(2 * Math.PI * i / 24));
        }

        values[300] += 30;
        var options = new SrCnnEntireOptions { BatchSize = -1, Period = 24, DeseasonalityMode = mode, DetectMode = SrCnnDetectMode.AnomalyAndExpectedValue };

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, options);

        Assert.True(results[300].IsAnomaly);
        Assert.Equal(values[306], results[306].ExpectedValue, 2.0);
        Assert.Equal(values[300] - 30, results[300].ExpectedValue, 5.0);
    }

    [Fact]
    public void Detect_LastBatchUnderTwelvePoints_JoinsPreviousBatch()
    {
        double[] values = ConstantWithSpike(1030, 1027);

        SrAnomalyPoint[] results = SrCnnEntireDetector.Detect(values, new SrCnnEntireOptions { BatchSize = 1024 });

        Assert.True(results[1027].IsAnomaly);
    }

    [Fact]
    public void Detect_BatchesAreIndependent_SameResultAsSeparateCalls()
    {
        double[] first = ConstantWithSpike(100, 30);
        double[] second = ConstantWithSpike(100, 70, level: 7, spike: 90);
        var options = new SrCnnEntireOptions { BatchSize = 100 };

        SrAnomalyPoint[] joined = SrCnnEntireDetector.Detect([.. first, .. second], options);

        Assert.Equal(SrCnnEntireDetector.Detect(first, options), joined[..100]);
        Assert.Equal(SrCnnEntireDetector.Detect(second, options), joined[100..]);
    }

    [Fact]
    public void Options_InvalidValues_ReportsEveryFailure()
    {
        var options = new SrCnnEntireOptions { BatchSize = 5, Sensitivity = 120, Threshold = 2 };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new SrCnnEntireDetector(options));

        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("Sensitivity", error.Message, StringComparison.Ordinal);
        Assert.Contains("Threshold", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SensitivityFactors_KnownEntries_MatchMlNetTable()
    {
        Assert.Equal(532.0, SensitivityFactors.At(0), 9);
        Assert.Equal(30.0, SensitivityFactors.At(25), 9);
        Assert.Equal(1.0, SensitivityFactors.At(55), 9);
        Assert.Equal(0.0003, SensitivityFactors.At(99), 9);
        Assert.Equal(0.0, SensitivityFactors.At(100), 12);
        Assert.Equal((30.0 + 28.75) / 2, SensitivityFactors.At(25.5), 9);
    }

    [Fact]
    public void SensitivityFactors_Score_IsInverseOfFactor()
    {
        Assert.Equal(0.45, SensitivityFactors.Score(SensitivityFactors.At(55)), 9);
        Assert.True(SensitivityFactors.Score(100) > SensitivityFactors.Score(1));
        Assert.Equal(1.0, SensitivityFactors.Score(1000), 9);
    }
}
