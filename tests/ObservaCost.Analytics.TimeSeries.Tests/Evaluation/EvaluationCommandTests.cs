using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.TimeSeries.Tests.Evaluation;

public sealed class EvaluationCommandTests
{
    [Fact]
    public async Task Run_NabDevSet_ReproducesScorerAndBeatsRandomCutForestAndAdvec()
    {
        using var output = new StringWriter();

        int exitCode = await EvaluationCommand.RunAsync(["nab", "--data", RepoPaths.Data("nab-dev")], output, CancellationToken.None);

        string text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("Scorer check: 3/3 published per-file scores reproduced", text, StringComparison.Ordinal);
        Assert.Contains("above randomCutForest (68.1) on the same files: MET", text, StringComparison.Ordinal);
        Assert.Contains("above twitterADVec (55.6) on the same files: MET", text, StringComparison.Ordinal);
        Assert.Contains("leave-one-file-out", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NabCorpus_FileGlob_LoadsOnlyMatchingFilesWithTheirWindows()
    {
        IReadOnlyList<NabDataFile> files = NabCorpus.Load(RepoPaths.Data("nab-dev"), "realAWSCloudwatch/ec2_*");

        Assert.Equal(6, files.Count);
        Assert.Equal(9, files.Sum(f => f.Windows.Count));
        Assert.All(files, f => Assert.Equal(4032, f.Values.Length));
    }

    [Theory]
    [InlineData("")]
    [InlineData("nab")]
    [InlineData("m4 --train x")]
    [InlineData("forecast --data x")]
    public async Task Run_BadArguments_PrintsUsageAndReturns2(string commandLine)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        using var output = new StringWriter();

        int exitCode = await EvaluationCommand.RunAsync(args, output, CancellationToken.None);

        Assert.Equal(2, exitCode);
        Assert.Contains("usage:", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Glob_Patterns_MatchLikeAShell()
    {
        Assert.True(Glob.Matches("realAWSCloudwatch/*", "realAWSCloudwatch/a.csv"));
        Assert.False(Glob.Matches("*", "realAWSCloudwatch/a.csv"));
        Assert.True(Glob.Matches("**/ec2_*.csv", "realAWSCloudwatch/ec2_x.csv"));
        Assert.False(Glob.Matches("*/elb_?.csv", "realAWSCloudwatch/elb_10.csv"));
    }
}
