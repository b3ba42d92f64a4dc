using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Analytics.Reading;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Support;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

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
    public async Task Report_PreviousWindowsStoredBeforeTheSplit_RentalNotMeasuredInsideOpexAndSaid_BackfillSplitsIt()
    {
        await using TwoHourFleet hours = await TwoHourFleet.StartAsync();
        ITimeSeriesStore store = hours.Services.GetRequiredService<ITimeSeriesStore>();
        EfficiencyReportBuilder builder = hours.Services.GetRequiredService<EfficiencyReportBuilder>();
        var request = new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd, ComparePrevious: true);

        // The previous hour's cost windows as an older version stored them: GPU-B2's 2.00 $ rental inside opex and no
        // rental_usd field (the rows read back GPU by GPU, deleted, and written again without it).
        var previousHour = new WindowSelection
        {
            From = TwoHourFleet.Previous, To = TwoHourFleet.Period,
            GroupBy = [Tags.Model, Tags.Tenant, Tags.Pool, Tags.Node, Tags.GpuModel, Tags.GpuUuid],
        };
        IReadOnlyList<CostWindow> rows = await StoredWindowReader.ReadCostAsync(store, previousHour);
        Assert.Equal(2.00, rows.Sum(r => r.RentalUsd!.Value), 9);
        await store.DeleteAsync(Measurements.CostWindow, TwoHourFleet.Previous, TwoHourFleet.Period, new Dictionary<string, string>());
        using (var writer = new LineProtocolWriter())
        {
            foreach (CostWindow row in rows)
            {
                (row with { OpexUsd = row.OpexUsd + row.RentalUsd!.Value, RentalUsd = null }).WriteTo(writer);
            }

            WriteResult written = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds));
            Assert.Equal(0, written.PointsRejected);
        }

        // Period: opex 0.50 + rental 2.00 (split); previous: rental not measured, opex 0.50 + 2.00 = 2.50; spend unchanged.
        EfficiencyReport report = await builder.BuildAsync(request);
        EfficiencyReportEndToEndTests.AssertClose(2.00, report.Fleet.RentalUsd.Current!.Value, "rental");
        EfficiencyReportEndToEndTests.AssertClose(0.50, report.Fleet.OpexUsd.Current!.Value, "opex");
        Assert.Null(report.Fleet.RentalUsd.Previous);
        EfficiencyReportEndToEndTests.AssertClose(2.50, report.Fleet.OpexUsd.Previous!.Value, "opex previous");
        Assert.Contains(report.Method.NotMeasured, n => n.StartsWith("Cost windows of the previous period were computed before rental was split from opex", StringComparison.Ordinal));
        Assert.Equal("opex (incl. rental)", ReportCharts.OpexLabel(report.Fleet));

        // A backfill over the previous hour recomputes its windows with the field: both periods split, no note.
        await hours.BackfillAsync(TwoHourFleet.Previous, TwoHourFleet.Period);
        EfficiencyReport recomputed = await builder.BuildAsync(request);
        EfficiencyReportEndToEndTests.AssertClose(2.00, recomputed.Fleet.RentalUsd.Previous!.Value, "rental previous after backfill");
        EfficiencyReportEndToEndTests.AssertClose(0.50, recomputed.Fleet.OpexUsd.Previous!.Value, "opex previous after backfill");
        Assert.DoesNotContain(recomputed.Method.NotMeasured, n => n.Contains("rental", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("opex", ReportCharts.OpexLabel(recomputed.Fleet));
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
