using System.Text.Json;
using ObservaCost.Reporting.Output;
using ObservaCost.Reporting.Reports;
using ObservaCost.Reporting.Tests.Pdf;
using SkiaSharp;

namespace ObservaCost.Reporting.Tests.Output;

public sealed class PdfReportWriterTests
{
    private const int Dpi = 60;

    // The chart palette's first six colours (ChartRenderer): bands take the first ones, then lines, or bars by group.
    private static readonly SKColor[] SeriesColours =
        [new(0x00, 0x72, 0xB2), new(0xE6, 0x9F, 0x00), new(0x00, 0x9E, 0x73), new(0xD5, 0x5E, 0x00), new(0xCC, 0x79, 0xA7), new(0x56, 0xB4, 0xE9)];

    [Fact]
    public async Task Render_EveryFleetFigureOfTheJson_IsInItsRowWithTheSameValue()
    {
        EfficiencyReport report = SampleReport.Create();
        using JsonDocument json = JsonDocument.Parse(await WriteAsync(new JsonReportWriter(), report));
        List<string[]> rows = ReportPdfChecks.Rows(PdfReportWriter.Render(report).Pdf);

        // 40 fleet KPIs in the report's definitions (35, and 5 of carbon, not measured in the sample), every one found in its row.
        Assert.Equal(40, ReportPdfChecks.AssertFleetFiguresInRows(json.RootElement, rows));
        // The cover's and the section's row of one figure, worked by hand: idle cost $1,432.17 against $1,640.02, a change of −$207.85.
        Assert.Equal(2, rows.Count(r => r.SequenceEqual(["Idle cost", "USD", "$1,432.17", "$1,640.02", "-$207.85"])));
    }

    [Fact]
    public async Task Render_PoolAndModelRows_HoldTheJsonValues()
    {
        EfficiencyReport report = SampleReport.Create();
        using JsonDocument json = JsonDocument.Parse(await WriteAsync(new JsonReportWriter(), report));
        List<string[]> rows = ReportPdfChecks.Rows(PdfReportWriter.Render(report).Pdf);

        ReportPdfChecks.AssertPoolAndModelRows(json.RootElement, rows);

        // The first pool worked by hand: a100-train, 1,344 GPU-h, 61.25 %, 201.5 idle GPU-h, $512.34, 14.9926 %, $3,902.11;
        // previously $601.20 and 17.3 %.
        Assert.Contains(["a100-train", "1,344", "61.25", "201.5", "$512.34", "14.9926", "$3,902.11", "$601.20", "17.3"], rows);

        // And the first model: llama-3-70b, 6.1e9 tokens, $5,104.22, $/1M 0.8367 (prompt × 0.8 = 0.66936 → 0.6694,
        // completion × 1.9 = 1.58973 → 1.5897), previously 0.8512.
        Assert.Contains(["llama-3-70b", "6,100,000,000", "$5,104.22", "0.8367", "0.6694", "1.5897", "0.8512"], rows);
    }

    [Fact]
    public void Render_EveryPage_IsNotBlank()
    {
        byte[] pdf = PdfReportWriter.Render(SampleReport.Create()).Pdf;

        List<SKBitmap> pages = PdfPages.Render(pdf, Dpi);

        // Cover, sections over several pages, method notes: at least 4 pages, each with more than its footer's ink
        // (a footer line alone colours a few hundred of a 60-dpi page's 496 × 702 pixels).
        Assert.True(pages.Count >= 4, $"pages: {pages.Count}");
        Assert.All(pages, page => Assert.True(PdfPages.CountInk(page) > 2000, $"ink pixels: {PdfPages.CountInk(page)}"));
    }

    [Fact]
    public void Render_EveryChart_IsDrawnWithData()
    {
        PdfReportRendering rendering = PdfReportWriter.Render(SampleReport.Create());
        List<SKBitmap> pages = PdfPages.Render(rendering.Pdf, Dpi);

        // The five charts of ReportCharts, all with data in the sample.
        Assert.Equal(
            ["Utilization and idle capacity", "Cost per 1M tokens by model", "Energy and tokens per kWh", "Spend by component", "Forecast demand against capacity"],
            rendering.Charts.Select(c => c.Chart.Title));
        foreach (PdfChartPlacement chart in rendering.Charts)
        {
            // The PNG that went in has at least two series drawn: two palette colours with more than 200 pixels each
            // (a 2-pixel line across an 800-pixel plot, or a bar, has several hundred; a legend swatch alone has a few dozen).
            using SKBitmap png = SKBitmap.Decode(chart.Png);
            SKColor[] drawn = [.. SeriesColours.Where(colour => PdfPages.CountColour(png, colour) > 200)];
            Assert.True(drawn.Length >= 2, $"{chart.Chart.Title}: series colours drawn: {drawn.Length}");

            // And the page shows those series in the rectangle the chart was placed in.
            SKBitmap page = pages[chart.Placement.PageNumber - 1];
            SKRectI area = PdfPages.ToPixels(chart.Placement.LeftPoints, chart.Placement.TopPoints, chart.Placement.WidthPoints, chart.Placement.HeightPoints, Dpi);
            Assert.All(drawn, colour => Assert.True(PdfPages.CountTint(page, colour, area) > 50, $"{chart.Chart.Title}: {colour} pixels on page {chart.Placement.PageNumber}: {PdfPages.CountTint(page, colour, area)}"));
        }
    }

    [Fact]
    public void Render_SameReportTwice_SameText()
    {
        EfficiencyReport report = SampleReport.Create();

        Assert.Equal(PdfPages.LayoutText(PdfReportWriter.Render(report).Pdf), PdfPages.LayoutText(PdfReportWriter.Render(report).Pdf));
    }

    [Fact]
    public void Render_NoRevenue_SaysRoiIsNotMeasured()
    {
        string text = PdfPages.LayoutText(PdfReportWriter.Render(SampleReport.Create(withRevenue: false)).Pdf);

        Assert.Contains("No model has a revenue price in the pricing file: revenue, ROI and margin are not measured.", text, StringComparison.Ordinal);
        // The cover's ROI row says so too, rather than printing 0.
        Assert.Matches(@"ROI\s+%\s+not measured\s+not measured", text);
    }

    [Fact]
    public void Render_CoverAndFooter_StateThePeriods()
    {
        List<string> pages = PdfPages.Texts(PdfReportWriter.Render(SampleReport.Create()).Pdf);

        Assert.Contains("Period: 2026-11-23 00:00 UTC – 2026-11-30 00:00 UTC", pages[0], StringComparison.Ordinal);
        Assert.Contains("Previous period: 2026-11-16 00:00 UTC – 2026-11-23 00:00 UTC", pages[0], StringComparison.Ordinal);
        for (int p = 0; p < pages.Count; p++)
        {
            Assert.Contains($"Page {p + 1} of {pages.Count}", pages[p], StringComparison.Ordinal);
        }

        string last = pages[^1];
        Assert.Contains("3f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081", last, StringComparison.Ordinal);
        Assert.Contains("5376 cost windows, 1204 idle windows, 11 anomaly events, 48 forecast points", last, StringComparison.Ordinal);
        Assert.Contains("ObservaCost 0.12.0 (commit 5d1a833)", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_Stream_IsAPdf()
    {
        var writer = new PdfReportWriter();

        string start = await WriteAsync(writer, SampleReport.Create());

        Assert.Equal("pdf", writer.Format);
        Assert.Equal("application/pdf", writer.ContentType);
        Assert.StartsWith("%PDF-", start, StringComparison.Ordinal);
    }

    private static async Task<string> WriteAsync(IReportWriter writer, EfficiencyReport report)
    {
        using var stream = new MemoryStream();
        await writer.WriteAsync(report, stream, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
