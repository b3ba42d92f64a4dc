using ObservaCost.Analytics.TimeSeries.Anomaly;

namespace ObservaCost.Analytics.TimeSeries.Tests.Anomaly;

public sealed class StreamingDetectorTests
{
    private static double[] NoisyWithSpike(int length, int spikeAt, double spike, int seed = 7)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = 10 + (2 * Math.Sin(2 * Math.PI * i / 24)) + (0.2 * random.NextDouble());
        }

        values[spikeAt] += spike;
        return values;
    }

    [Fact]
    public void SrCnnStreaming_SpikeInSmoothSeries_AlertsAtSpikeAndNowhereElseOnceWarm()
    {
        double[] values = NoisyWithSpike(400, 300, 15);
        var detector = new SrCnnStreamingDetector(new SrCnnOptions());

        var alerts = values.Select((v, i) => (detector.Add(v), i)).Where(x => x.Item1.Alert).Select(x => x.i).ToList();

        // The spike's right neighbour also stands out against a window that now contains the spike.
        Assert.Contains(300, alerts);
        Assert.DoesNotContain(alerts, i => i >= 64 && (i < 300 || i > 301));
    }

    [Fact]
    public void SrCnnStreaming_FewerThanTwelvePoints_ScoresZero()
    {
        var detector = new SrCnnStreamingDetector(new SrCnnOptions());
        for (int i = 0; i < SrCnnOptions.MinimumPoints - 1; i++)
        {
            Assert.Equal(default, detector.Add(i == 5 ? 100 : 1));
        }
    }

    [Fact]
    public void IidSpike_OutlierAfterNoise_AlertsWithTinyPValue()
    {
        double[] values = NoisyWithSpike(300, 250, 30);
        var detector = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: 100);

        SpikePoint[] results = values.Select(detector.Add).ToArray();

        Assert.True(results[250].Alert);
        Assert.True(results[250].PValue < 1e-6);
        Assert.True(results.Skip(100).Count(r => r.Alert) <= 3);
    }

    [Fact]
    public void IidSpike_FarTail_LogPValueStaysFiniteWhenPValueUnderflows()
    {
        var detector = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: 50, side: AnomalySide.Positive);
        for (int i = 0; i < 50; i++)
        {
            detector.Add(i % 2);
        }

        SpikePoint far = detector.Add(1e6);
        SpikePoint farther = detector.Add(2e6);

        Assert.Equal(0, far.PValue);
        Assert.True(double.IsFinite(far.LogPValue) && far.LogPValue < -1000);
        Assert.True(farther.LogPValue < far.LogPValue);
    }

    [Fact]
    public void IidSpike_PositiveSide_IgnoresDrops()
    {
        double[] values = NoisyWithSpike(300, 250, -30);
        var detector = new IidSpikeDetector(confidence: 99, pvalueHistoryLength: 100, side: AnomalySide.Positive);

        SpikePoint[] results = values.Select(detector.Add).ToArray();

        Assert.False(results[250].Alert);
        Assert.True(results[250].PValue > 0.9);
    }

    [Fact]
    public void SsaSpike_SpikeOnSeasonalSeries_AlertsAtSpike()
    {
        double[] values = NoisyWithSpike(600, 500, 3);
        var detector = new SsaSpikeDetector(confidence: 99, pvalueHistoryLength: 100, trainingWindowSize: 200, seasonalityWindowSize: 24);

        SpikePoint[] results = values.Select(detector.Add).ToArray();

        Assert.True(results[500].Alert);
        Assert.True(Math.Abs(results[500].RawScore - 3) < 0.5);
        Assert.DoesNotContain(results[300..500], r => r.Alert);
    }

    [Fact]
    public void ChangePoint_LevelShift_AlertsSoonAfterShiftNotBefore()
    {
        var random = new Random(3);
        double[] values = Enumerable.Range(0, 400).Select(i => (i < 300 ? 10 : 20) + random.NextDouble()).ToArray();
        var detector = new ChangePointDetector(confidence: 95, changeHistoryLength: 10, pvalueHistoryLength: 100);

        ChangePointResult[] results = values.Select(detector.Add).ToArray();

        Assert.DoesNotContain(results.Skip(150).Take(150), r => r.Alert);
        int first = Array.FindIndex(results, 300, r => r.Alert);
        Assert.InRange(first, 300, 305);
    }

    [Fact]
    public void ScoreSuppression_RepeatedHighScores_PassesOnlyNewMaximaWithinWindow()
    {
        var suppression = new ScoreSuppression(window: 3);
        double[] scores = [0.5, 0.9, 0.8, 0.95, 0.1, 0.1, 0.1, 0.2];

        double[] passed = scores.Select(suppression.Next).ToArray();

        Assert.Equal([0.5, 0.9, 0, 0.95, 0, 0, 0, 0.2], passed);
    }
}
