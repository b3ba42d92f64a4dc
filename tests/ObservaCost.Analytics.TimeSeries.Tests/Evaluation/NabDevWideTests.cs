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
        // The contextOSE target (71.0, standard, leave-one-file-out) is met: the resonance ensemble holds out 79.1 and
        // the adaptive-resonance detector alone (the product default) 75.7, both with the range learnt online
        // (docs/accuracy.md). The Numenta HTM moonshot (80.1) is missed and only reported.
        Assert.True(exitCode == 0, text);
        Assert.Contains("Scorer check: 27/27 published per-file scores reproduced", text, StringComparison.Ordinal);
        Assert.Contains("Best of ours, standard profile, leave-one-file-out: ensemble(max of resonance, 1·iid-spike/30 suppress=288) 79.1 (7 categories)", text, StringComparison.Ordinal);
        Assert.Contains("Target: standard leave-one-file-out above contextOSE (71.0): MET", text, StringComparison.Ordinal);
        Assert.Contains("Reported: standard leave-one-file-out above numenta (80.1): MISSED", text, StringComparison.Ordinal);

        // The chosen configurations' figures, pinned (optimised threshold and leave-one-file-out, three profiles).
        Assert.Contains("resonance(range=running)                         standard 78.7 (raw 17.767, threshold 0.268687; leave-one-file-out 75.7); reward_low_FP_rate 72.1 (raw 13.678, threshold 0.268687; leave-one-file-out 69.2); reward_low_FN_rate 83.6 (raw 15.767, threshold 0.268687; leave-one-file-out 80.6)", text, StringComparison.Ordinal);
        Assert.Contains("ensemble(max of resonance, 1·iid-spike/30 suppress=288) standard 80.6 (raw 18.982, threshold 0.262926; leave-one-file-out 79.1); reward_low_FP_rate 71.2 (raw 13.138, threshold 0.262926; leave-one-file-out 65.5); reward_low_FN_rate 86.0 (raw 17.982, threshold 0.262926; leave-one-file-out 85.0)", text, StringComparison.Ordinal);
        Assert.Contains("resonance(range=known)                           standard 79.7 (raw 18.393, threshold 0.232103; leave-one-file-out 76.7); reward_low_FP_rate 71.5 (raw 13.339, threshold 0.423882; leave-one-file-out 62.7); reward_low_FN_rate 85.4 (raw 17.393, threshold 0.232103; leave-one-file-out 82.3)", text, StringComparison.Ordinal);
        Assert.Contains("contextual(levels=8, order=3, suppress=288, range=known) standard 54.4 (raw 2.739, threshold 0.833333; leave-one-file-out 54.4); reward_low_FP_rate 51.2 (raw 0.760, threshold 0.833333; leave-one-file-out 51.2); reward_low_FN_rate 56.7 (raw -9.261, threshold 0.833333; leave-one-file-out 56.7)", text, StringComparison.Ordinal);
        Assert.Contains("iid-spike(history=2016, suppress=288)            standard 59.1 (raw 5.627, threshold 0.00549025; leave-one-file-out 55.7); reward_low_FP_rate 49.0 (raw -0.590, threshold 0.00581858; leave-one-file-out 45.2); reward_low_FN_rate 65.2 (raw -1.373, threshold 0.00549025; leave-one-file-out 62.1)", text, StringComparison.Ordinal);
    }
}
