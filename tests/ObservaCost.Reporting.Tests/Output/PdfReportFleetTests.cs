using System.Text.Json;
using ObservaCost.Reporting.Tests.Pdf;
using ObservaCost.Reporting.Tests.Reports;
using ObservaCost.Reporting.Tests.Support;
using SkiaSharp;

namespace ObservaCost.Reporting.Tests.Output;

/// <summary>
/// The PDF of a report built by the real builder from a store: the <see cref="TwoHourFleet"/> pushed through the
/// collector and backfilled (with its anomaly events and forecast), asked for through <c>GET /api/v1/reports</c> as
/// JSON and as PDF. The figures themselves are worked out by hand in <see cref="EfficiencyReportEndToEndTests"/>; here
/// the PDF must print the same ones as the JSON.
/// </summary>
public sealed class PdfReportFleetTests : IClassFixture<EfficiencyReportEndToEndTests.Fleet>
{
    private const string Range = "from=2026-11-23T11:00:00Z&to=2026-11-23T12:00:00Z";

    private readonly TwoHourFleet _fleet;

    public PdfReportFleetTests(EfficiencyReportEndToEndTests.Fleet fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _fleet = fleet.Hours;
    }

    [Fact]
    public async Task ReportsApi_FormatPdf_IsAPdfWithTheJsonFiguresInTheirRows()
    {
        using HttpResponseMessage pdfAnswer = await _fleet.Host.Client.GetAsync($"/api/v1/reports?{Range}&format=pdf");
        using HttpResponseMessage jsonAnswer = await _fleet.Host.Client.GetAsync($"/api/v1/reports?{Range}&format=json");

        Assert.True(pdfAnswer.IsSuccessStatusCode, await pdfAnswer.Content.ReadAsStringAsync());
        Assert.Equal("application/pdf", pdfAnswer.Content.Headers.ContentType?.MediaType);
        byte[] pdf = await pdfAnswer.Content.ReadAsByteArrayAsync();
        Assert.Equal("%PDF-"u8.ToArray(), pdf[..5]);
        using JsonDocument json = JsonDocument.Parse(await jsonAnswer.Content.ReadAsStringAsync());
        List<string[]> rows = ReportPdfChecks.Rows(pdf);

        Assert.Equal(40, ReportPdfChecks.AssertFleetFiguresInRows(json.RootElement, rows));
        ReportPdfChecks.AssertPoolAndModelRows(json.RootElement, rows);
        // One row by hand (EfficiencyReportEndToEndTests): spend 3.715 $ against 1.00 + 2.50 + 4,319,375 J / 3.6e6 × 0.20 $/kWh
        // = 3.739965… $, printed $3.72 and $3.74, a change of −0.024965… → -$0.02.
        Assert.Contains(["Spend", "USD", "$3.72", "$3.74", "-$0.02"], rows);

        // Carbon by hand (EfficiencyReportEndToEndTests.Report_Carbon_…): 0.48 kg against 0.529930555… kg, a change of
        // −0.049930555… kg; llama 0.35 kg at 1,620.370370… g per 1M tokens; pool batch-spot 0.13 kg, all of it idle.
        Assert.Contains(["Carbon", "kgCO2e", "0.48", "0.5299", "-0.0499"], rows);
        Assert.Contains(["llama", "0.35", "1,620.37"], rows);
        Assert.Contains(["batch-spot", "0.13", "0.13"], rows);
        string text = string.Join(' ', PdfPages.LayoutText(pdf).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Carbon intensity: test grid: fixed 400 gCO2e/kWh.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportsApi_FormatPdf_EveryPageRendersWithInk()
    {
        using HttpResponseMessage answer = await _fleet.Host.Client.GetAsync($"/api/v1/reports?{Range}&format=pdf");
        byte[] pdf = await answer.Content.ReadAsByteArrayAsync();

        List<SKBitmap> pages = PdfPages.Render(pdf, 60);

        Assert.True(pages.Count >= 3, $"pages: {pages.Count}");
        Assert.All(pages, page => Assert.True(PdfPages.CountInk(page) > 2000, $"ink pixels: {PdfPages.CountInk(page)}"));
        string text = PdfPages.LayoutText(pdf);
        // The stored events and forecast of the fixture: one critical anomaly in the period (none in the previous one), and
        // llama's forecast at the default target 0.7: 13:00 needs no GPU, 1 idle GPU-hour at 1.65 $.
        Assert.Matches(@"critical\s+1\s+0", text);
        // The sentence wraps: compare with the line breaks and layout spaces as single spaces.
        string flowing = string.Join(' ', text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("capacity planned at 70 % of each GPU's peak: projected idle 1 GPU-hours, $1.65.", flowing, StringComparison.Ordinal);
    }
}
