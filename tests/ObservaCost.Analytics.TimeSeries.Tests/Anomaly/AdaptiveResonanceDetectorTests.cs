using ObservaCost.Analytics.TimeSeries.Anomaly;
using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.TimeSeries.Tests.Anomaly;

public sealed class AdaptiveResonanceDetectorTests
{
    // With a 16-point probation the step is max(1, 16 / (8·13)) = 1 (every point is a downsampled value) and the trend
    // window is 16 steps; after probation, an anomaly is masked until step 28 (16 + 12) and 12 steps without a new category.

    [Fact]
    public void Add_JumpAfterConstantProbation_ScoresOneAtTheJumpOnly()
    {
        var detector = new AdaptiveResonanceDetector(probationRows: 16);
        double[] values = [.. Enumerable.Repeat(5.0, 29), 9.0, .. Enumerable.Repeat(5.0, 3)];

        double[] scores = [.. values.Select(detector.Add)];

        // Probation range [5, 5] has no width, so every value scales to 0 and every feature is 0: input x = 0,
        // complement 1. Initial vigilance: the probation network seeds its all-ones category (match 0); the 2nd input
        // matches it (|x∧1|/|1| = 16/32)³·(1/2)² = 0.03125 < 0.8, a new category x; the rest match x exactly (1);
        // the mean over inputs 8 and 9 of the 9 complete windows is 1. Main network: steps 1–7 do not learn (match
        // 0, then 0.03125), step 8 commits x (0.03125), steps 9–29 resonate with x (1).
        // Vigilance updates at steps 17 and 25: upper = mean match = (7·0.03125 + 9)/17 = 0.5422794 then
        // (7·0.03125 + 17)/25 = 0.68875; lower = min(upper, 1) = 0.5422794, then up by 19 % of its gap to the recent
        // minimum match 1: 0.5422794 + 0.19·0.4577206 = 0.6292463.
        // Step 30 (value 9): range [5, 9], scaled 1, level 80; the median level stays 0, so the window is
        // [0,0,0,0,0,0,0,1]; its Haar transform [1/(2√2), −1/(2√2), 0, −1/2, 0, 0, 0, −1/√2] rescales to
        // [1, 1/3, 2/3, (2−√2)/3, 2/3, 2/3, 2/3, 0]; with the window the input is 16 features, the last one 1.
        // Category x: its last feature 0 cannot hold the new value 1, energy (min(1,0) + min(0,1))/(0+1) = 0, match 0.
        // The all-ones category: match 0.03125, energy 1/2. Below the lower vigilance: resonance fails, not masked
        // (no new category since step 8, step > 28). Confidence with s = 0.03125: upper part (0.96875 − 0.31125)/0.96875
        // = 0.6787097, lower part (0.96875 − 0.3707537)/0.96875 = 0.6172865, so 0.35·0.6787097 + 0.65·0.6172865
        // + 1.5·(1 − 1/2) = 1.3888 → capped at 1.
        Assert.Equal(1.0, scores[29]);
        Assert.All(scores.Take(29), s => Assert.Equal(0.0, s));
    }

    [Fact]
    public void Add_JumpWhileMaskedAfterProbation_ScoresZero()
    {
        var detector = new AdaptiveResonanceDetector(probationRows: 16);
        double[] values = [.. Enumerable.Repeat(5.0, 19), 9.0, .. Enumerable.Repeat(5.0, 3)];

        double[] scores = [.. values.Select(detector.Add)];

        // Step 20 fails to resonate as above, but within 12 steps of the end of probation (step ≤ 28) new categories
        // are masked unless their match is clearly below the last anomaly's (there is none): no score.
        Assert.All(scores, s => Assert.Equal(0.0, s));
    }

    [Fact]
    public void Add_MorePointsAppended_EarlierScoresUnchanged()
    {
        double[] values = NabCorpus.Load(RepoPaths.Data("nab-dev-wide"), "realKnownCause/nyc_taxi.csv").Single().Values;
        int probation = NabScorer.ProbationRows(values.Length);
        double[] full = Score(values, probation);

        double[] prefix = Score(values[..6000], probation);

        // One pass, no look-ahead: the score at t is the same whether or not the points after t exist.
        Assert.Equal(prefix, full[..6000]);
        Assert.Contains(full[..6000], s => s > 0);
    }

    [Fact]
    public void Add_LongNoisySeries_StateStaysWithinItsCategoryBound()
    {
        var random = new Random(15);
        var detector = new AdaptiveResonanceDetector(probationRows: 750, maxCategories: 8);
        int bytes = detector.StateBytes;

        for (int i = 0; i < 50_000; i++)
        {
            detector.Add(random.NextDouble() * (i % 7 == 0 ? 100 : 1));
        }

        // White noise with occasional spikes keeps creating categories; with 8 slots the oldest are replaced, so the
        // network holds 8 and the state is the size it was built with.
        Assert.Equal(8, detector.Categories);
        Assert.Equal(bytes, detector.StateBytes);
    }

    private static double[] Score(double[] values, int probation)
    {
        var detector = new AdaptiveResonanceDetector(probation);
        return [.. values.Select(detector.Add)];
    }
}
