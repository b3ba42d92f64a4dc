using ObservaCost.Analytics.TimeSeries.Anomaly;

namespace ObservaCost.Analytics.TimeSeries.Tests.Anomaly;

public sealed class ContextualNoveltyDetectorTests
{
    // With 8 levels and order 3 a point's contexts are its bin (weight 1), its bin after the previous one (weight 2)
    // and the last three bins (weight 3); the score is the weight of the novel ones over 6 (fewer while warming up).

    [Fact]
    public void Add_ConstantWarmUp_ScoresOneTwoThirdsHalfThenZero()
    {
        var detector = new ContextualNoveltyDetector(levels: 8, order: 3);

        double[] scores = [.. Enumerable.Repeat(0.0, 5).Select(detector.Add)];

        // Point 0: only context (0), novel: 1/1. Point 1: (0) known, (0,0) novel: 2/3. Point 2: (0,0,0) novel: 3/6.
        // Point 3 on: every context known: 0.
        Assert.Equal([1.0, 2.0 / 3, 0.5, 0.0, 0.0], scores);
    }

    [Fact]
    public void Add_Step_DetectsAtTheStepOnly()
    {
        var detector = new ContextualNoveltyDetector(levels: 8, order: 3);
        double[] values = [.. Enumerable.Repeat(0.0, 10), .. Enumerable.Repeat(10.0, 10)];

        double[] scores = [.. values.Select(detector.Add)];

        // Point 10: range [0, 10], bin min(7, ⌊10/10·8⌋) = 7; (7), (7,0), (7,0,0) all novel: 6/6 = 1.
        // Point 11: (7) known, (7,7) and (7,7,0) novel: 5/6. Point 12: only (7,7,7) novel: 3/6. Then 0.
        Assert.Equal(1.0, scores[10]);
        Assert.Equal(5.0 / 6, scores[11], 12);
        Assert.Equal(0.5, scores[12]);
        Assert.Equal(10, DetectionAfterWarmUp(scores, threshold: 0.9));
        Assert.All(scores[13..], s => Assert.Equal(0.0, s));
    }

    [Fact]
    public void Add_Spike_DetectsAtTheSpikeAndTheReturnScoresBelowIt()
    {
        var detector = new ContextualNoveltyDetector(levels: 8, order: 3);
        double[] values = [.. Enumerable.Repeat(0.0, 10), 10.0, .. Enumerable.Repeat(0.0, 10)];

        double[] scores = [.. values.Select(detector.Add)];

        // Point 10: bin 7 after two 0s: 6/6. Point 11: (0) known, (0,7) and (0,7,0) novel: 5/6.
        // Point 12: (0,0) known, (0,0,7) novel: 3/6. Point 13 on: all known.
        Assert.Equal([1.0, 5.0 / 6, 0.5, 0.0], scores[10..14]);
        Assert.Equal(10, DetectionAfterWarmUp(scores, threshold: 0.9));
    }

    [Fact]
    public void Add_LevelShiftInsideTheKnownRange_DetectsAtTheShift()
    {
        var detector = new ContextualNoveltyDetector(levels: 8, order: 3);
        double[] values = [.. Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? 0.0 : 10.0), .. Enumerable.Repeat(5.0, 10)];

        double[] scores = [.. values.Select(detector.Add)];

        // Bins alternate 0 and 7 (range [0, 10] from point 1); 5 lands in bin ⌊5/10·8⌋ = 4, never seen: point 20 scores
        // 6/6; point 21: (4,4) and (4,4,7) novel: 5/6; point 22: (4,4,4) novel: 3/6.
        Assert.Equal([1.0, 5.0 / 6, 0.5, 0.0], scores[20..24]);
        Assert.Equal(20, DetectionAfterWarmUp(scores, threshold: 0.9));
    }

    [Fact]
    public void Add_SameInput_SameScores()
    {
        double[] values = [.. Enumerable.Range(0, 5000).Select(i => Math.Sin(i / 7.0) + (i % 97 == 0 ? 3 : 0))];

        double[] first = [.. values.Select(new ContextualNoveltyDetector().Add)];
        double[] second = [.. values.Select(new ContextualNoveltyDetector().Add)];

        Assert.Equal(first, second);
    }

    [Fact]
    public void StateBytes_LongSeries_DoesNotGrow()
    {
        var detector = new ContextualNoveltyDetector();
        int before = detector.StateBytes;

        for (int i = 0; i < 200_000; i++)
        {
            detector.Add(i * 0.37 % 11);
        }

        // Defaults: tables 8 + 64 + 512 bytes, ring 3 · 4 bytes, range and count 3 · 8 bytes = 620 bytes.
        Assert.Equal(620, before);
        Assert.Equal(before, detector.StateBytes);
    }

    /// <summary>The first point after the warm-up (the first 4) whose score reaches the threshold.</summary>
    private static int DetectionAfterWarmUp(double[] scores, double threshold) =>
        Array.FindIndex(scores, 4, s => s >= threshold);
}
