using System.Text.Json;
using System.Text.RegularExpressions;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Pdf;

namespace ObservaCost.Reporting.Tests.Output;

/// <summary>Checks that a report's PDF prints the figures of its JSON, each in its row, through the shared formatter <see cref="ReportText"/>.</summary>
internal static partial class ReportPdfChecks
{
    /// <summary>The table rows of the PDF before the method notes (whose KPI table repeats names and units with definitions), each split into its cells.</summary>
    public static List<string[]> Rows(byte[] pdf)
    {
        string text = PdfPages.LayoutText(pdf);
        int notes = text.IndexOf("Method notes", StringComparison.Ordinal);
        Assert.True(notes > 0, "no method notes in the PDF");
        return [.. text[..notes].Split('\n').Select(l => ColumnGap().Split(l.Trim())).Where(cells => cells.Length > 1)];
    }

    /// <summary>
    /// Every fleet KPI of the JSON: each row that names it (its section's, and the cover's for a headline KPI) holds
    /// the JSON's period, previous and change values, and there is at least one such row. Returns the KPIs checked.
    /// </summary>
    public static int AssertFleetFiguresInRows(JsonElement report, List<string[]> rows)
    {
        JsonElement fleet = report.GetProperty("fleet");
        bool compared = report.GetProperty("previousPeriod").ValueKind != JsonValueKind.Null;
        int checkedFigures = 0;
        foreach (KpiDefinition kpi in ReportDefinitions.All)
        {
            JsonElement figure = fleet.GetProperty(kpi.Key);
            double? current = Number(figure.GetProperty("current"));
            double? previous = Number(figure.GetProperty("previous"));
            string[] expected = !compared ? [kpi.Name, kpi.Unit, ReportText.Figure(current, kpi.Unit)]
                : current - previous is double change ? [kpi.Name, kpi.Unit, ReportText.Figure(current, kpi.Unit), ReportText.Figure(previous, kpi.Unit), ReportText.Change(change, kpi.Unit)]
                : [kpi.Name, kpi.Unit, ReportText.Figure(current, kpi.Unit), ReportText.Figure(previous, kpi.Unit)];

            string[][] found = [.. rows.Where(r => r.Length >= 2 && r[0] == kpi.Name && r[1] == kpi.Unit)];
            Assert.True(found.Length > 0, $"no row for {kpi.Name}");
            Assert.All(found, row => Assert.Equal(expected, row));
            checkedFigures++;
        }

        return checkedFigures;
    }

    /// <summary>Every pool's row of the idle table and every model's row of the cost table hold the JSON's values.</summary>
    public static void AssertPoolAndModelRows(JsonElement report, List<string[]> rows)
    {
        bool compared = report.GetProperty("previousPeriod").ValueKind != JsonValueKind.Null;
        foreach (JsonElement pool in report.GetProperty("pools").EnumerateArray())
        {
            string C(string key, string unit) => ReportText.Figure(Number(pool.GetProperty(key).GetProperty("current")), unit);
            string P(string key, string unit) => ReportText.Figure(Number(pool.GetProperty(key).GetProperty("previous")), unit);
            string[] expected = [pool.GetProperty("pool").GetString()!, C("gpuHours", "GPU-h"), C("utilizationPercent", "%"), C("idleGpuHours", "GPU-h"),
                C("idleCostUsd", "USD"), C("idleSharePercent", "%"), C("costUsd", "USD"), .. compared ? new[] { P("idleCostUsd", "USD"), P("idleSharePercent", "%") } : []];
            Assert.Contains(expected, rows);
        }

        foreach (JsonElement model in report.GetProperty("models").EnumerateArray())
        {
            string C(string key) => ReportText.Figure(Number(model.GetProperty(key).GetProperty("current")), ReportDefinitions.Of(key).Unit);
            string[] expected = [model.GetProperty("model").GetString()!, C("tokens"), C("costUsd"), C("costPerMillionTokensUsd"), C("costPerMillionPromptTokensUsd"),
                C("costPerMillionCompletionTokensUsd"),
                .. compared ? new[] { ReportText.Figure(Number(model.GetProperty("costPerMillionTokensUsd").GetProperty("previous")), ReportDefinitions.Of("costPerMillionTokensUsd").Unit) } : []];
            Assert.Contains(expected, rows);
        }
    }

    private static double? Number(JsonElement element) => element.ValueKind == JsonValueKind.Null ? null : element.GetDouble();

    // pdftotext -layout separates table columns by two or more spaces; a cell's own words by one.
    [GeneratedRegex(" {2,}")]
    private static partial Regex ColumnGap();
}
