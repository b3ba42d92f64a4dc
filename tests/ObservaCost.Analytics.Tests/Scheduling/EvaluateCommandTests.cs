using ObservaCost.Analytics.Service;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>The service's <c>evaluate</c> verb runs the time-series evaluation on the shared M4 Hourly subset.</summary>
public sealed class EvaluateCommandTests
{
    [Fact]
    public async Task Evaluate_M4DevSubset_PrintsEveryMethodAndSaysTheTargetIsMet()
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int code = await AnalyticsApplication.RunAsync(
            ["evaluate", "m4", "--train", RepoPaths.Data("m4-hourly-dev", "Hourly-train-dev.csv"), "--test", RepoPaths.Data("m4-hourly-dev", "Hourly-test-dev.csv")],
            errors,
            output: output);

        string printed = output.ToString();
        // Issue 15's target (30 % better than seasonal naive on both sMAPE and MASE) is met: sMAPE 31.5 %, MASE 30.2 %
        // (1 − 0.919/1.318); the command says so and exits 0.
        Assert.True(code == 0, printed + errors);
        Assert.Contains("14.418", printed, StringComparison.Ordinal); // seasonal naive sMAPE on the 104 series
        Assert.Contains("1.318", printed, StringComparison.Ordinal);  // and MASE
        Assert.Contains("sMAPE   9.876  MASE  0.919", printed, StringComparison.Ordinal); // the chosen ensemble (docs/accuracy.md)
        Assert.Contains(": MET;", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluate_UnknownCorpus_ExitsWithUsage()
    {
        using var output = new StringWriter();
        Assert.Equal(2, await AnalyticsApplication.RunAsync(["evaluate", "imagenet"], TextWriter.Null, output: output));
    }
}
