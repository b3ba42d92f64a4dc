using System.Globalization;
using ObservaCost.Reporting.Charts;
using ObservaCost.Reporting.Pdf;
using SkiaSharp;
using UglyToad.PdfPig.Content;
using PigDocument = UglyToad.PdfPig.PdfDocument;

namespace ObservaCost.Reporting.Tests.Pdf;

public sealed class PdfLayoutTests
{
    private static readonly DateTimeOffset Generated = new(2026, 11, 30, 6, 15, 0, TimeSpan.Zero);

    private static readonly PdfDocumentInfo Info = new(
        "GPU efficiency report",
        "2026-11-23 to 2026-11-30",
        Generated,
        "Period 2026-11-23T00:00Z to 2026-11-30T00:00Z");

    private static readonly PdfTable Pools = new(
        [new PdfColumn("Pool", 2), new PdfColumn("Idle GPU-hours", 1, PdfAlign.Right), new PdfColumn("Idle cost (USD)", 1, PdfAlign.Right)],
        [["a100-train", "12.5", "1,234.5678"], ["h100-serve", "7", "89.1"]]);

    [Fact]
    public void Save_TitleParagraphAndTable_TextReadsBackInOrder()
    {
        byte[] pdf = Render(layout =>
        {
            layout.Title("GPU efficiency report");
            layout.Paragraph("Idle capacity fell this week.");
            layout.Table(Pools);
        });

        // pdftotext -layout keeps a table row on one line: the pool and both of its numbers.
        string[] lines = PdfPages.LayoutText(pdf).Split('\n');
        Assert.Contains(lines, l => l.Contains("GPU efficiency report", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Idle capacity fell this week.", StringComparison.Ordinal));
        Assert.Single(lines, l => Tokens(l).SequenceEqual(["a100-train", "12.5", "1,234.5678"]));
        Assert.Single(lines, l => Tokens(l).SequenceEqual(["h100-serve", "7", "89.1"]));
    }

    [Fact]
    public void Table_RightAlignedColumn_NumbersEndAtTheSameX()
    {
        byte[] pdf = Render(layout => layout.Table(Pools));

        List<Word> words = PdfPages.Words(pdf)[0];
        double Right(string text) => words.Single(w => w.Text == text).BoundingBox.Right;

        // "12.5" and "7" end at the second column's right edge, "1,234.5678" and "89.1" at the table's (and the text width's)
        // right edge: 595.28 − 56 margin − 6 cell padding = 533.28 points. Glyph boxes end within half a point of it.
        Assert.Equal(Right("12.5"), Right("7"), 0.5);
        Assert.Equal(533.28, Right("1,234.5678"), 0.5);
        Assert.Equal(533.28, Right("89.1"), 0.5);
        Assert.True(Right("12.5") < Right("89.1") - 50);
    }

    [Fact]
    public void Table_LongerThanAPage_RepeatsTheHeaderOnEveryPage()
    {
        // 150 rows of ~16.5 points (8.5-point text plus 6 points of padding) are ~2,500 points: more than three pages of
        // 722 points of content.
        var rows = Enumerable.Range(1, 150).Select(i => (IReadOnlyList<string>)[$"pool-{i:000}", i.ToString(CultureInfo.InvariantCulture), (i * 1.5).ToString("0.0", CultureInfo.InvariantCulture)]).ToList();

        byte[] pdf = Render(layout => layout.Table(Pools with { Rows = rows }));

        List<string> pages = PdfPages.Texts(pdf);
        Assert.True(pages.Count >= 4, $"pages: {pages.Count}");
        Assert.All(pages, page => Assert.Contains("Pool Idle GPU-hours Idle cost (USD)", page, StringComparison.Ordinal));
        string all = string.Join(' ', pages);
        Assert.All(rows, row => Assert.Contains($"{row[0]} {row[1]} {row[2]}", all, StringComparison.Ordinal));
    }

    [Fact]
    public void Save_EveryPage_HasPageXOfNAndThePeriodInItsFooter()
    {
        byte[] pdf = Render(layout =>
        {
            layout.Paragraph("first");
            layout.PageBreak();
            layout.Paragraph("second");
            layout.PageBreak();
            layout.Paragraph("third");
        });

        List<string> pages = PdfPages.Texts(pdf);
        Assert.Equal(3, pages.Count);
        for (int p = 0; p < 3; p++)
        {
            Assert.Contains($"Page {p + 1} of 3", pages[p], StringComparison.Ordinal);
            Assert.Contains("Period 2026-11-23T00:00Z to 2026-11-30T00:00Z", pages[p], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Save_Metadata_ComesFromTheReportNotTheClock()
    {
        byte[] pdf = Render(layout => layout.Paragraph("x"));

        using PigDocument document = PigDocument.Open(pdf);
        Assert.Equal("GPU efficiency report", document.Information.Title);
        Assert.Equal("2026-11-23 to 2026-11-30", document.Information.Subject);
        // PDF dates are D:YYYYMMDDHHmmSS followed by the offset: the report's generation time, 2026-11-30 06:15:00 UTC.
        Assert.StartsWith("D:20261130061500", document.Information.CreationDate, StringComparison.Ordinal);
    }

    [Fact]
    public void Paragraph_LongText_WrapsInsideTheMargins()
    {
        string text = string.Join(' ', Enumerable.Repeat("Idle GPU-hours are capacity that was paid for and not used.", 12));

        byte[] pdf = Render(layout => layout.Paragraph(text));

        List<Word> words = PdfPages.Words(pdf)[0].Where(w => w.Text != "Page" && !w.Text.StartsWith("Period", StringComparison.Ordinal)).ToList();
        // 12 × 59 characters at 9.5 points (~5.3 points a character) is ~3,750 points of text: at least 7 lines of 483 points.
        int lines = words.Select(w => Math.Round(w.BoundingBox.Bottom)).Distinct().Count();
        Assert.True(lines >= 7, $"lines: {lines}");
        Assert.All(words, w => Assert.InRange(w.BoundingBox.Left, 55.5, 539.5));
        Assert.All(words, w => Assert.InRange(w.BoundingBox.Right, 56, 539.5));
    }

    [Fact]
    public void Image_Chart_IsDrawnWhereTheLayoutPlacedIt()
    {
        var start = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        var chart = new TimeChart("Utilization", "utilization (%)", [new LineSeries("utilization", [.. Enumerable.Range(0, 48).Select(h => start.AddHours(h))], [.. Enumerable.Range(0, 48).Select(h => 20.0 + h)])]);
        PdfPlacedImage? placed = null;

        byte[] pdf = Render(layout =>
        {
            layout.Heading("Utilization");
            layout.Paragraph("The fleet's utilization by hour.");
            placed = layout.Image(ChartRenderer.RenderPng(chart, 1200, 600));
        });

        Assert.NotNull(placed);
        // Scaled to the text width (483.28 points) with the PNG's 2:1 aspect ratio: 241.64 points high.
        Assert.Equal(483.28, placed.WidthPoints, 0.01);
        Assert.Equal(241.64, placed.HeightPoints, 0.01);
        const int Dpi = 60;
        SKBitmap page = Assert.Single(PdfPages.Render(pdf, Dpi));
        SKRectI area = PdfPages.ToPixels(placed.LeftPoints, placed.TopPoints, placed.WidthPoints, placed.HeightPoints, Dpi);
        SKColor line = new(0x00, 0x72, 0xB2);
        // The line in the first palette colour is inside the image's rectangle and nowhere above it (headings are navy, text grey).
        // At 60 dpi the 2-pixel line of the 1,200-pixel PNG is under a pixel wide: it shows as a tint of its colour, along
        // most of the 403 pixels of the image's width.
        Assert.True(PdfPages.CountTint(page, line, area) > 200, $"line pixels in the image: {PdfPages.CountTint(page, line, area)}");
        Assert.Equal(0, PdfPages.CountTint(page, line, new SKRectI(0, 0, page.Width, area.Top - 1)));
    }

    [Fact]
    public void Render_EveryPage_IsNotBlank()
    {
        byte[] pdf = Render(layout =>
        {
            layout.Title("Report");
            for (int i = 0; i < 90; i++)
            {
                layout.Bullet($"Finding {i}: the pool's idle share changed.");
            }
        });

        List<SKBitmap> pages = PdfPages.Render(pdf, 60);
        Assert.True(pages.Count >= 2, $"pages: {pages.Count}");
        // A60-dpi A4 page is 496 × 702 pixels; a page of body text colours thousands of them, a footer alone a few hundred.
        Assert.All(pages, page => Assert.True(PdfPages.CountInk(page) > 1000, $"ink pixels: {PdfPages.CountInk(page)}"));
    }

    [Fact]
    public void Save_SameContentTwice_SameText()
    {
        static void Content(PdfLayout layout)
        {
            layout.Title("GPU efficiency report");
            layout.Table(Pools);
        }

        Assert.Equal(PdfPages.LayoutText(Render(Content)), PdfPages.LayoutText(Render(Content)));
    }

    [Fact]
    public void Table_RowWithTooFewCells_NamesTheRow()
    {
        using var layout = new PdfLayout(Info);

        var error = Assert.Throws<ArgumentException>(() => layout.Table(Pools with { Rows = [["a", "1", "2"], ["b", "1"]] }));

        Assert.Contains("row 1 has 2 cells for 3 columns", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Render(Action<PdfLayout> content)
    {
        using var layout = new PdfLayout(Info);
        content(layout);
        return layout.Save();
    }

    private static string[] Tokens(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
