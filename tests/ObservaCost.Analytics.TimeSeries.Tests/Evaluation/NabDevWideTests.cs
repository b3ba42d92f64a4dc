using ObservaCost.Analytics.TimeSeries.Evaluation;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.TimeSeries.Tests.Evaluation;

public sealed class NabDevWideTests
{
    [Fact]
    public async Task Run_NabDevWide_ReproducesScorerAndReportsLeaveOneFileOutAgainstContextOse()
    {
        using var output = new StringWriter();

        int exitCode = await EvaluationCommand.RunAsync(["nab", "--data", RepoPaths.Data("nab-dev-wide")], output, CancellationToken.None);

        string text = output.ToString();
        // The contextOSE target (71.0, standard, leave-one-file-out) is not met yet: the best held-out figure is
        // iid-spike's 55.7 (docs/accuracy.md), so the command exits 1 and says so.
        Assert.True(exitCode == 1, text);
        Assert.Contains("Scorer check: 27/27 published per-file scores reproduced", text, StringComparison.Ordinal);
        Assert.Contains("Best of ours, standard profile, leave-one-file-out: iid-spike(history=2016, suppress=288) 55.7 (7 categories)", text, StringComparison.Ordinal);
        Assert.Contains("Target: standard leave-one-file-out above contextOSE (71.0): MISSED", text, StringComparison.Ordinal);
        Assert.Contains("Reported: standard leave-one-file-out above numenta (80.1)", text, StringComparison.Ordinal);
    }
}
