using ObservaCost.Analytics.Service;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Scheduling;

/// <summary>The service's <c>evaluate</c> verb runs the time-series evaluation on the shared M4 Hourly subset.</summary>
public sealed class EvaluateCommandTests
{
    [Fact]
    public async Task Evaluate_M4DevSubset_PrintsSeasonalNaiveReferenceAndMeetsTheTarget()
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int code = await AnalyticsApplication.RunAsync(
            ["evaluate", "m4", "--train", RepoPaths.Data("m4-hourly-dev", "Hourly-train-dev.csv"), "--test", RepoPaths.Data("m4-hourly-dev", "Hourly-test-dev.csv")],
            errors,
            output: output);

        string printed = output.ToString();
        Assert.True(code == 0, printed + errors);
        Assert.Contains("14.418", printed, StringComparison.Ordinal); // seasonal naive sMAPE on the 104 series
        Assert.Contains("1.318", printed, StringComparison.Ordinal);  // and MASE
    }

    [Fact]
    public async Task Evaluate_UnknownCorpus_ExitsWithUsage()
    {
        using var output = new StringWriter();
        Assert.Equal(2, await AnalyticsApplication.RunAsync(["evaluate", "imagenet"], TextWriter.Null, output: output));
    }
}
