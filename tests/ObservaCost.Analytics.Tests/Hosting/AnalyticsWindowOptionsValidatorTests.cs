using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Hosting;
using ObservaCost.Analytics.Windows;

namespace ObservaCost.Analytics.Tests.Hosting;

public sealed class AnalyticsWindowOptionsValidatorTests
{
    [Fact]
    public void Validate_RollupWithAGapLimitUnderAMinute_FailsNamingTheKey()
    {
        // The rollup bridges every step inside a minute, so with it a gap limit under a minute is refused at start-up.
        ValidateOptionsResult result = new AnalyticsWindowOptionsValidator().Validate(null, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Rollup, MaxSampleGap = TimeSpan.FromSeconds(30) });

        Assert.True(result.Failed);
        Assert.Contains("Analytics:Windows:MaxSampleGap must be at least 00:01:00 when Analytics:Windows:GpuSource is Rollup", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RawWithAGapLimitUnderAMinute_Succeeds()
    {
        ValidateOptionsResult result = new AnalyticsWindowOptionsValidator().Validate(null, new AnalyticsWindowOptions { GpuSource = GpuReadingSource.Raw, Resolution = TimeSpan.FromSeconds(5), MaxSampleGap = TimeSpan.FromSeconds(30) });

        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
