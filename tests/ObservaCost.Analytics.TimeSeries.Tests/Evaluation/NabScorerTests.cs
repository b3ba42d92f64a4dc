using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.TimeSeries.Tests.Evaluation;

public sealed class NabScorerTests
{
    private static readonly string Root = RepoPaths.Data("nab-dev");

    public static TheoryData<string> PublishedOutputs()
    {
        var data = new TheoryData<string>();
        foreach (NabPublishedScore row in NabCorpus.LoadPublishedScores(Root))
        {
            if (NabCorpus.FindDetectorOutput(Root, row.Detector, row.RelativePath) is not null)
            {
                data.Add(row.Detector + "|" + row.Profile + "|" + row.RelativePath);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PublishedOutputs))]
    public void Score_PublishedDetectorOutput_ReproducesPublishedScoreAndCounts(string key)
    {
        string[] parts = key.Split('|');
        NabPublishedScore published = NabCorpus.LoadPublishedScores(Root).Single(r => r.Detector == parts[0] && r.Profile == parts[1] && r.RelativePath == parts[2]);
        NabDataFile file = NabCorpus.Load(Root).Single(f => f.RelativePath == published.RelativePath);
        NabProfile profile = NabCorpus.LoadProfiles(Root).Single(p => p.Name == published.Profile);
        double[] scores = NabCorpus.ReadDetectorScores(NabCorpus.FindDetectorOutput(Root, published.Detector, published.RelativePath)!);

        NabFileScore ours = NabScorer.ScoreAt(NabScorer.Prepare(scores, file.Windows, profile), published.Threshold);

        Assert.Equal(published.Score, ours.Score, 1e-11);
        Assert.Equal(
            (published.TruePositives, published.TrueNegatives, published.FalsePositives, published.FalseNegatives),
            (ours.TruePositives, ours.TrueNegatives, ours.FalsePositives, ours.FalseNegatives));
    }

    [Fact]
    public void PublishedOutputs_DevSubset_AreFoundForAllThreeProfiles()
    {
        Assert.Equal(3, PublishedOutputs().Count);
    }

    [Fact]
    public void Score_NullDetectorOnEveryFile_ReproducesPublishedNullRows()
    {
        // NAB's null detector answers 0.5 for every row; its published rows were scored at threshold 0.6.
        IReadOnlyList<NabDataFile> files = NabCorpus.Load(Root);
        IReadOnlyList<NabProfile> profiles = NabCorpus.LoadProfiles(Root);
        var nullRows = NabCorpus.LoadPublishedScores(Root).Where(r => r.Detector == "null").ToList();
        Assert.Equal(21, nullRows.Count);
        foreach (NabPublishedScore row in nullRows)
        {
            NabDataFile file = files.Single(f => f.RelativePath == row.RelativePath);
            double[] constant = Enumerable.Repeat(0.5, file.Values.Length).ToArray();
            NabFileScore ours = NabScorer.ScoreAt(NabScorer.Prepare(constant, file.Windows, profiles.Single(p => p.Name == row.Profile)), row.Threshold);
            Assert.Equal(row.Score, ours.Score, 1e-12);
            Assert.Equal((row.TrueNegatives, row.FalseNegatives), (ours.TrueNegatives, ours.FalseNegatives));
        }
    }

    [Fact]
    public void ScaledSigmoid_KnownPoints_MatchNabDefinition()
    {
        Assert.Equal(0.0, NabScorer.ScaledSigmoid(0), 12);
        Assert.Equal((2 / (1 + Math.Exp(-5))) - 1, NabScorer.ScaledSigmoid(-1), 12);
        Assert.Equal(-1.0, NabScorer.ScaledSigmoid(3.5));
    }

    [Fact]
    public void Score_DetectionAtWindowStart_EarnsFullTpWeightAndLateDetectionAlmostNothing()
    {
        // 100 rows: probation 15; one window over rows 40..59.
        var windows = new[] { new NabWindow(40, 59) };
        var early = new double[100];
        early[40] = 1;
        var late = new double[100];
        late[59] = 1;

        double earlyScore = NabScorer.ScoreAt(NabScorer.Prepare(early, windows, NabProfile.Standard), 0.5).Score;
        double lateScore = NabScorer.ScoreAt(NabScorer.Prepare(late, windows, NabProfile.Standard), 0.5).Score;

        Assert.Equal(1.0, earlyScore, 12);
        double expectedLate = NabScorer.ScaledSigmoid(-1.0 / 20) / NabScorer.ScaledSigmoid(-1);
        Assert.Equal(expectedLate, lateScore, 12);
    }

    [Fact]
    public void Score_FalsePositiveBeforeAnyWindow_CostsFullFpWeight()
    {
        var windows = new[] { new NabWindow(60, 69) };
        var scores = new double[100];
        scores[20] = 1;

        NabFileScore result = NabScorer.ScoreAt(NabScorer.Prepare(scores, windows, NabProfile.RewardLowFpRate), 0.5);

        Assert.Equal(-0.22 - 1.0, result.Score, 12);
        Assert.Equal(1, result.FalsePositives);
    }

    [Fact]
    public void OptimiseThreshold_TwoFiles_PicksThresholdWithBestTotal()
    {
        var windows = new[] { new NabWindow(40, 59) };
        var a = new double[100];
        a[40] = 0.9;
        a[80] = 0.5;
        var b = new double[100];
        b[45] = 0.4;
        NabScoredRows[] files = [NabScorer.Prepare(a, windows, NabProfile.Standard), NabScorer.Prepare(b, windows, NabProfile.Standard)];

        (double threshold, double score) = NabScorer.OptimiseThreshold(files);

        double direct = files.Sum(f => NabScorer.ScoreAt(f, threshold).Score);
        Assert.Equal(0.4, threshold);
        Assert.Equal(direct, score, 12);
        foreach (double candidate in new[] { 0.9, 0.5, 0.3, 2.0 })
        {
            Assert.True(files.Sum(f => NabScorer.ScoreAt(f, candidate).Score) <= score + 1e-12);
        }
    }
}
