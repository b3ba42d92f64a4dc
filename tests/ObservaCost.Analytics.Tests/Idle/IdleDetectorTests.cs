using ObservaCost.Analytics.Energy;
using ObservaCost.Analytics.Idle;
using ObservaCost.Analytics.Pricing;

namespace ObservaCost.Analytics.Tests.Idle;

public sealed class IdleDetectorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly IdleThresholds FivePercentFiveMinutes = new(5, TimeSpan.FromMinutes(5));

    /// <summary>One sample a minute from <paramref name="startMinute"/> (minutes after T0), values as given.</summary>
    private static TimedValue[] Minutes(int startMinute, params double[] values) =>
        values.Select((v, i) => new TimedValue(T0.AddMinutes(startMinute + i), v)).ToArray();

    private static IdleResult Detect(TimedValue[] samples, int windowStartMinute = 0, int windowEndMinute = 60) =>
        IdleDetector.Detect(samples, T0.AddMinutes(windowStartMinute), T0.AddMinutes(windowEndMinute), FivePercentFiveMinutes, TimeSpan.FromMinutes(2));

    [Fact]
    public void Detect_LongLowRun_IsIdle_ShortDipIsNot()
    {
        // Minutes 0–9 busy, 10–19 at 1 % (a 10-minute run), 20–29 busy with a 3-minute dip at 25–27, 30 busy.
        double[] values = [.. Enumerable.Repeat(80.0, 10), .. Enumerable.Repeat(1.0, 10), 80, 80, 80, 80, 80, 2, 2, 2, 80, 80, 80];
        IdleResult r = Detect(Minutes(0, values));

        TimeInterval run = Assert.Single(r.IdleIntervals);
        Assert.Equal(T0.AddMinutes(10), run.Start);
        Assert.Equal(T0.AddMinutes(20), run.End);
        Assert.Equal(TimeSpan.FromMinutes(10), r.IdleDuration);
        Assert.Equal(TimeSpan.FromMinutes(30), r.ObservedDuration);
        Assert.Equal(1.0 / 3, r.IdleShare, 12);
    }

    [Fact]
    public void Detect_ThresholdIsStrict_AndNaNIsNotIdle()
    {
        IdleResult atThreshold = Detect(Minutes(0, 5, 5, 5, 5, 5, 5, 5, 5));
        Assert.Empty(atThreshold.IdleIntervals);
        IdleResult withNaN = Detect(Minutes(0, 0, 0, 0, double.NaN, 0, 0, 0, 0));
        Assert.Empty(withNaN.IdleIntervals);
    }

    [Fact]
    public void Detect_GapLongerThanTheLimit_BreaksTheRun_AndIsNotObserved()
    {
        // Idle 0–4, a 10-minute hole, idle 14–20.
        TimedValue[] samples = [.. Minutes(0, 0, 0, 0, 0, 0), .. Minutes(14, 0, 0, 0, 0, 0, 0, 0)];
        IdleResult r = Detect(samples);

        // First stretch: samples at 0..4; the last sample before a gap is not held (issue 10's edge rule, as energy),
        // so 0–4 = 4 minutes < 5: not idle. Second: 14–20 = 6 minutes: idle. Observed 4 + 6 = 10 minutes.
        Assert.Equal([new TimeInterval(T0.AddMinutes(14), T0.AddMinutes(20))], r.IdleIntervals);
        Assert.Equal(TimeSpan.FromMinutes(10), r.ObservedDuration);
    }

    [Fact]
    public void Detect_RunAcrossTheWindowEdge_IsJudgedWhole_ThenClipped()
    {
        // Idle from minute -2 to minute 10 (12 minutes); the window starts at 0.
        TimedValue[] samples = Minutes(-2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 90, 90);
        IdleResult inWindow = Detect(samples, 0, 60);
        Assert.Equal(new TimeInterval(T0, T0.AddMinutes(11)), Assert.Single(inWindow.IdleIntervals));

        IdleResult previousWindow = Detect(samples, -60, 0);
        Assert.Equal(new TimeInterval(T0.AddMinutes(-2), T0), Assert.Single(previousWindow.IdleIntervals));
    }

    [Fact]
    public void Detect_RejectsUnorderedSamplesAndEmptyWindows()
    {
        Assert.Throws<ArgumentException>(() => Detect([new TimedValue(T0.AddMinutes(1), 0), new TimedValue(T0, 0)]));
        Assert.Throws<ArgumentException>(() => Detect(Minutes(0, 0), 10, 10));
    }
}
