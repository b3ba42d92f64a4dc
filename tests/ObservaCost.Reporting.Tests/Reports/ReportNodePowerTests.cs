using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Support;
using ObservaCost.Storage;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Reporting.Tests.Reports;

/// <summary>The report's method notes say, per period, for which nodes node power was measured, fixed or absent.</summary>
public sealed class ReportNodePowerTests
{
    /// <summary>
    /// The two-hour fleet (one GPU a node, fixed node power 200 W): node-a's BMC reads 700 W through the period
    /// (11:00–12:00) while its H100 draws 400 W, so its non-GPU power is 300 W, measured; node-b stays on the fixed
    /// 200 W; the previous hour was computed before the readings, both nodes fixed. Period node energy: node-a 300 ×
    /// 3,600 = 1,080,000 J + node-b 200 × 3,600 = 720,000 J = 1,800,000 J = 0.5 kWh (it was 0.4 kWh with both fixed).
    /// </summary>
    [Fact]
    public async Task Report_OneNodeMeasuredInThePeriod_NotesNameTheNodesPerPeriod_InJsonCsvAndMarkdown()
    {
        await using TwoHourFleet hours = await TwoHourFleet.StartAsync();
        ITimeSeriesStore store = hours.Services.GetRequiredService<ITimeSeriesStore>();
        await WriteNodeAsync(store, "node-a", 700);

        await hours.BackfillAsync(TwoHourFleet.Period, TwoHourFleet.PeriodEnd);
        EfficiencyReport report = await hours.Services.GetRequiredService<EfficiencyReportBuilder>()
            .BuildAsync(new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd, ComparePrevious: true));

        EfficiencyReportEndToEndTests.AssertClose(0.5, report.Fleet.NodeEnergyKilowattHours.Current!.Value, "node kWh");
        EfficiencyReportEndToEndTests.AssertClose(0.4, report.Fleet.NodeEnergyKilowattHours.Previous!.Value, "node kWh previous");
        const string Period = "Node (non-GPU) power in the period was measured (node_sample, less the GPUs' power) for node-a; not measured, the pricing file's fixed energy.nodePowerWatts used instead, for node-b.";
        const string Previous = "Node (non-GPU) power in the previous period was not measured, the pricing file's fixed energy.nodePowerWatts used instead, for node-a, node-b.";
        Assert.Contains(Period, report.Method.NotMeasured);
        Assert.Contains(Previous, report.Method.NotMeasured);

        using JsonDocument json = JsonDocument.Parse(await EfficiencyReportEndToEndTests.BytesAsync(new JsonReportWriter(), report));
        string[] notMeasured = [.. json.RootElement.GetProperty("method").GetProperty("notMeasured").EnumerateArray().Select(n => n.GetString()!)];
        Assert.Contains(Period, notMeasured);
        Assert.Contains(Previous, notMeasured);
        string csv = CsvReportWriter.Text(report);
        Assert.Contains(Period, csv, StringComparison.Ordinal);
        Assert.Contains(Previous, csv, StringComparison.Ordinal);
        string md = MarkdownReportWriter.Text(report);
        Assert.Contains(Period, md, StringComparison.Ordinal);

        // Every node measured: the note moves from "not measured" to the other notes.
        await WriteNodeAsync(store, "node-b", 260);

        await hours.BackfillAsync(TwoHourFleet.Period, TwoHourFleet.PeriodEnd);
        EfficiencyReport measured = await hours.Services.GetRequiredService<EfficiencyReportBuilder>().BuildAsync(new ReportRequest(TwoHourFleet.Period, TwoHourFleet.PeriodEnd, ComparePrevious: false));
        Assert.DoesNotContain(measured.Method.NotMeasured, n => n.StartsWith("Node (non-GPU) power", StringComparison.Ordinal));
        Assert.Contains("Node (non-GPU) power in the period was measured (node_sample, less the GPUs' power) for node-a, node-b.", measured.Method.Notes);

        // node-b: 260 − 60 = 200 W measured, the same as the fixed 200 W: 0.5 kWh still.
        EfficiencyReportEndToEndTests.AssertClose(0.5, measured.Fleet.NodeEnergyKilowattHours.Current!.Value, "node kWh, both measured");
    }

    /// <summary>The node's BMC reading <paramref name="watts"/> every 30 s from 5 minutes before the period to 5 minutes after.</summary>
    private static async Task WriteNodeAsync(ITimeSeriesStore store, string node, double watts)
    {
        using var writer = new LineProtocolWriter();
        for (DateTimeOffset t = TwoHourFleet.Period.AddMinutes(-5); t <= TwoHourFleet.PeriodEnd.AddMinutes(5); t = t.AddSeconds(30))
        {
            new NodeSample { Time = t, Node = node, Source = "ipmi_dcmi", Scope = NodePowerScopes.WholeNode, PowerWatts = watts }.WriteTo(writer);
        }

        Assert.Equal(0, (await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds))).PointsRejected);
    }
}
