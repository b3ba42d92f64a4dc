using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Support;

namespace ObservaCost.Reporting.Tests.Reports;

/// <summary>The input hash follows the stored windows, and what is not configured is said, not zeroed.</summary>
public sealed class ReportInputChangeTests
{
    [Fact]
    public async Task Report_OneStoredWindowRecomputed_InputHashAndIdleFigureChange()
    {
        await using TwoHourFleet hours = await TwoHourFleet.StartAsync();
        EfficiencyReportBuilder builder = hours.Services.GetRequiredService<EfficiencyReportBuilder>();
        var request = new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd);
        EfficiencyReport before = await builder.BuildAsync(request);
        EfficiencyReportEndToEndTests.AssertClose(1, before.Fleet.IdleGpuHours.Current!.Value, "idle before");

        // GPU-B2 at 30 % in the period: the recomputed window replaces the stored one, so it is no longer idle.
        await hours.MakeB2BusyInPeriodAndRecomputeAsync();
        EfficiencyReport after = await builder.BuildAsync(request);

        Assert.NotEqual(before.Reproducibility.InputsSha256, after.Reproducibility.InputsSha256);
        Assert.Equal(before.Reproducibility.PricingFileSha256, after.Reproducibility.PricingFileSha256);
        EfficiencyReportEndToEndTests.AssertClose(0, after.Fleet.IdleGpuHours.Current!.Value, "idle after");

        // Utilization (0.5 + 0.3) / 2 = 40 %; the cost windows counted are the same number as before (replaced, not added).
        EfficiencyReportEndToEndTests.AssertClose(40, after.Fleet.UtilizationPercent.Current!.Value, "utilization after");
        Assert.Equal(before.Reproducibility.CostWindowPoints, after.Reproducibility.CostWindowPoints);
    }

    [Fact]
    public async Task Report_NoRevenueConfigured_RevenueRoiMarginNotMeasuredAndSaid()
    {
        await using TwoHourFleet hours = await TwoHourFleet.StartAsync(TwoHourFleet.PricingWithoutRevenue);
        EfficiencyReport report = await hours.Services.GetRequiredService<EfficiencyReportBuilder>().BuildAsync(new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd));

        Assert.Null(report.Fleet.RevenueUsd.Current);
        Assert.Null(report.Fleet.RoiPercent.Current);
        Assert.Null(report.Fleet.MarginPerMillionTokensUsd.Current);
        Assert.Contains(report.Method.NotMeasured, n => n.StartsWith("No revenue is configured", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Summary, s => s.StartsWith("Revenue", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Method.PricingInputs, p => p.Name.StartsWith("revenue.", StringComparison.Ordinal));

        // No forecast stored in this store either.
        Assert.Contains(report.Method.NotMeasured, n => n.StartsWith("No demand forecast is stored", StringComparison.Ordinal));
    }
}
