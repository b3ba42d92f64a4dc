using ObservaCost.Analytics.TimeSeries.Anomaly;

namespace ObservaCost.Analytics.TimeSeries.Tests.Anomaly;

public sealed class FuzzyArtTests
{
    [Fact]
    public void Present_SecondInput_MatchesTheFirstCategoryByOverlapAndNewestValue()
    {
        FuzzyArt art = WithOneCategory(lower: 0.9, upper: 0.9, capacity: 4);

        ArtMatch match = art.Present([0.4, 0.5], learn: true);

        // Category w = [0.2, 0.6, 0.8, 0.4] (complement coded), input x = [0.4, 0.5, 0.6, 0.5]:
        // x∧w = [0.2, 0.5, 0.6, 0.4], |x∧w| = 1.7, |w| = 2: 0.85. Newest value and its complement: (0.5 + 0.4)/(0.6 + 0.4)
        // = 0.9. Match 0.85³·0.9² = 0.614125·0.81 = 0.49744125 < 0.9: resonance fails, a third category.
        Assert.Equal(ArtOutcome.Mismatch, match.Outcome);
        Assert.Equal(0.49744125, match.Similarity, 12);
        Assert.Equal(0.9, match.EnergySimilarity, 12);
        Assert.Equal(3, art.Categories);
    }

    [Fact]
    public void Present_AboveUpperVigilance_LearnsTheIntersection()
    {
        FuzzyArt art = WithOneCategory(lower: 0.4, upper: 0.45, capacity: 4);

        ArtMatch first = art.Present([0.4, 0.5], learn: true);
        ArtMatch again = art.Present([0.4, 0.5], learn: true);

        // First: match 0.49744 ≥ 0.45, resonates; w ← x∧w = [0.2, 0.5, 0.6, 0.4]. Again: x∧w = w, overlap 1; energy
        // (0.5 + 0.4)/(0.5 + 0.4) = 1: match 1.
        Assert.Equal(ArtOutcome.Resonated, first.Outcome);
        Assert.Equal(1.0, again.Similarity, 12);
        Assert.Equal(2, art.Categories);
    }

    [Fact]
    public void Present_BetweenVigilances_CommitsANearMiss()
    {
        FuzzyArt art = WithOneCategory(lower: 0.4, upper: 0.6, capacity: 2);

        ArtMatch match = art.Present([0.4, 0.5], learn: true);

        // 0.4 ≤ 0.49744 < 0.6: a new category of the same kind; with 2 slots it replaces the least recently used one
        // other than the uncommitted seed, so the count stays 2.
        Assert.Equal(ArtOutcome.NearMiss, match.Outcome);
        Assert.Equal(2, art.Categories);
    }

    /// <summary>The seed (all ones) and one category [0.2, 0.6]: the seed matches it (2/4)³·((0.6 + 0.4)/2)² = 0.03125, below any vigilance used here.</summary>
    private static FuzzyArt WithOneCategory(double lower, double upper, int capacity)
    {
        var art = new FuzzyArt(dimension: 2, capacity) { LowerVigilance = lower, UpperVigilance = upper };
        art.Present([0.0, 0.0], learn: true);
        art.Present([0.2, 0.6], learn: true);
        return art;
    }
}
