using System.Globalization;
using PdfSharp;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace ObservaCost.Reporting.Pdf;

/// <summary>
/// A small flowing layout on PDFsharp: A4 pages with margins, headings, wrapped paragraphs and bullets, tables whose
/// header row repeats across page breaks and whose numeric columns are right-aligned, PNG images (the charts) scaled to
/// the text width, and a footer on every page ("page x of n" and the report period). Content flows top to bottom and
/// starts a new page when the next block does not fit. All text is DejaVu Sans (<see cref="DejaVuFontResolver"/>).
/// </summary>
public sealed class PdfLayout : IDisposable
{
    /// <summary>The most pages one document may have: a bound on memory for a report whose data runs away.</summary>
    public const int MaxPages = 200;

    private const double MarginLeft = 56;
    private const double MarginRight = 56;
    private const double MarginTop = 56;
    private const double MarginBottom = 64;
    private const double CellPaddingX = 6;
    private const double CellPaddingY = 3;

    /// <summary>The table font sizes tried in turn until a table's columns fit the text width.</summary>
    private static readonly double[] TableFontSizes = [8.5, 7.5, 6.5];

    /// <summary>Where a word wider than its column may break: after these.</summary>
    private static readonly System.Buffers.SearchValues<char> BreakAfter = System.Buffers.SearchValues.Create("/-_.:");

    private static readonly XColor Ink = XColor.FromArgb(0x22, 0x22, 0x22);
    private static readonly XColor Accent = XColor.FromArgb(0x1F, 0x2A, 0x44);
    private static readonly XColor Muted = XColor.FromArgb(0x66, 0x6B, 0x75);
    private static readonly XColor Rule = XColor.FromArgb(0xC8, 0xCD, 0xD5);
    private static readonly XColor HeaderFill = XColor.FromArgb(0xEE, 0xF1, 0xF5);

    private readonly PdfDocument _document = new();
    private readonly PdfDocumentInfo _info;
    private readonly List<PdfPlacedImage> _images = [];
    private readonly XFont _title;
    private readonly XFont _heading1;
    private readonly XFont _heading2;
    private readonly XFont _body;
    private readonly XFont _bodyItalic;
    private readonly XFont _table;
    private readonly XFont _tableBold;
    private readonly XFont _footer;

    private XGraphics? _graphics;
    private double _y;
    private bool _saved;

    /// <summary>Starts a document with its metadata; the first page opens with the first content.</summary>
    public PdfLayout(PdfDocumentInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        DejaVuFontResolver.EnsureRegistered();
        _info = info;
        _document.Info.Title = info.Title;
        _document.Info.Subject = info.Subject;
        _document.Info.Creator = "ObservaCost";
        _document.Info.CreationDate = info.CreatedAt.UtcDateTime;
        _document.Info.ModificationDate = info.CreatedAt.UtcDateTime;

        const string Family = DejaVuFontResolver.FamilyName;
        _title = new XFont(Family, 22, XFontStyleEx.Bold);
        _heading1 = new XFont(Family, 14, XFontStyleEx.Bold);
        _heading2 = new XFont(Family, 11, XFontStyleEx.Bold);
        _body = new XFont(Family, 9.5, XFontStyleEx.Regular);
        _bodyItalic = new XFont(Family, 9.5, XFontStyleEx.Italic);
        _table = new XFont(Family, 8.5, XFontStyleEx.Regular);
        _tableBold = new XFont(Family, 8.5, XFontStyleEx.Bold);
        _footer = new XFont(Family, 7.5, XFontStyleEx.Regular);
    }

    /// <summary>The width text, tables and images take, in points.</summary>
    public static double TextWidthPoints => PageWidthPoints - MarginLeft - MarginRight;

    /// <summary>The A4 page width in points.</summary>
    public static double PageWidthPoints => XUnit.FromMillimeter(210).Point;

    /// <summary>The A4 page height in points.</summary>
    public static double PageHeightPoints => XUnit.FromMillimeter(297).Point;

    private static double ContentBottom => PageHeightPoints - MarginBottom;

    /// <summary>The pages so far.</summary>
    public int PageCount => _document.PageCount;

    /// <summary>Every image drawn so far, with its page and rectangle.</summary>
    public IReadOnlyList<PdfPlacedImage> Images => _images;

    /// <summary>The document's title, large, with a rule under it.</summary>
    public void Title(string text)
    {
        XGraphics graphics = Reserve(_title.GetHeight() + 14);
        foreach (string line in Wrap(graphics, text, _title, TextWidthPoints))
        {
            graphics = Reserve(_title.GetHeight());
            graphics.DrawString(line, _title, new XSolidBrush(Accent), MarginLeft, _y, XStringFormats.TopLeft);
            _y += _title.GetHeight();
        }

        _y += 4;
        graphics.DrawLine(new XPen(Accent, 1.5), MarginLeft, _y, MarginLeft + TextWidthPoints, _y);
        _y += 12;
    }

    /// <summary>A section heading (level 1) or sub-heading (level 2), kept on the page of what follows it.</summary>
    public void Heading(string text, int level = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 2);
        XFont font = level == 1 ? _heading1 : _heading2;
        double before = level == 1 ? 12 : 8;

        // Keep with next: a heading needs room for itself and a few lines under it.
        XGraphics graphics = Reserve(before + font.GetHeight() + 60);
        if (_y > MarginTop)
        {
            _y += before;
        }

        graphics.DrawString(text, font, new XSolidBrush(Accent), MarginLeft, _y, XStringFormats.TopLeft);
        _y += font.GetHeight() + 4;
    }

    /// <summary>A paragraph wrapped to the text width, in the body font (italic for notes).</summary>
    public void Paragraph(string text, bool italic = false) => WrappedBlock(text, italic ? _bodyItalic : _body, MarginLeft, TextWidthPoints, null);

    /// <summary>A bulleted item wrapped with a hanging indent.</summary>
    public void Bullet(string text) => WrappedBlock(text, _body, MarginLeft + 12, TextWidthPoints - 12, "•");

    /// <summary>Vertical space in points.</summary>
    public void Space(double points)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(points);
        _y += points;
    }

    /// <summary>Ends the page; the next content starts on a new one.</summary>
    public void PageBreak()
    {
        _graphics?.Dispose();
        _graphics = null;
    }

    /// <summary>
    /// A table across the text width: a bold header row on a tinted band, thin rules between rows, right-aligned columns
    /// for numbers. Columns are sized by their content (a number is never broken; text wraps at spaces), in the table
    /// font or, when the columns do not fit, a smaller one. A row that does not fit starts a new page, which repeats the
    /// header row.
    /// </summary>
    public void Table(PdfTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        int columns = table.Columns.Count;
        ArgumentOutOfRangeException.ThrowIfZero(columns);
        for (int r = 0; r < table.Rows.Count; r++)
        {
            if (table.Rows[r].Count != columns)
            {
                throw new ArgumentException($"Table row {r} has {table.Rows[r].Count} cells for {columns} columns.", nameof(table));
            }
        }

        XGraphics graphics = Graphics();
        XFont font = _table;
        XFont bold = _tableBold;
        double[]? widths = null;
        foreach (double size in TableFontSizes)
        {
            font = new XFont(DejaVuFontResolver.FamilyName, size, XFontStyleEx.Regular);
            bold = new XFont(DejaVuFontResolver.FamilyName, size, XFontStyleEx.Bold);
            widths = ColumnWidths(graphics, table, font, bold);
            if (widths is not null)
            {
                break;
            }
        }

        // Even the smallest font does not fit every word: share the width by weight and let words break.
        double totalWeight = table.Columns.Sum(c => c.Weight);
        widths ??= [.. table.Columns.Select(c => TextWidthPoints * c.Weight / totalWeight)];
        string[] header = [.. table.Columns.Select(c => c.Header)];
        double lineHeight = font.GetHeight();

        graphics = Reserve(RowHeight(graphics, header, widths, bold, lineHeight) + lineHeight + (2 * CellPaddingY) + 4);
        _y += 2;
        DrawRow(graphics, header, table.Columns, widths, bold, lineHeight, isHeader: true);
        foreach (IReadOnlyList<string> row in table.Rows)
        {
            double height = RowHeight(graphics, row, widths, font, lineHeight);
            if (_y + height > ContentBottom)
            {
                graphics = NewPage();
                DrawRow(graphics, header, table.Columns, widths, bold, lineHeight, isHeader: true);
            }

            DrawRow(graphics, row, table.Columns, widths, font, lineHeight, isHeader: false);
        }

        _y += 8;
    }

    /// <summary>
    /// Column widths that fit the text width, or null when the table does not fit in this font. Each column wants its
    /// widest cell on one line; when all do not fit, each gets at least its widest unbreakable piece (a right-aligned
    /// cell whole, else its longest word) and the rest of the width goes to the columns that wrap, in proportion to what
    /// they lack. Width left over when everything fits is shared by the columns' weights.
    /// </summary>
    private static double[]? ColumnWidths(XGraphics graphics, PdfTable table, XFont font, XFont bold)
    {
        int columns = table.Columns.Count;
        var preferred = new double[columns];
        var minimum = new double[columns];
        for (int c = 0; c < columns; c++)
        {
            bool whole = table.Columns[c].Align == PdfAlign.Right;
            preferred[c] = graphics.MeasureString(table.Columns[c].Header, bold).Width;
            minimum[c] = LongestWord(graphics, table.Columns[c].Header, bold);
            foreach (IReadOnlyList<string> row in table.Rows)
            {
                double cell = graphics.MeasureString(row[c], font).Width;
                preferred[c] = Math.Max(preferred[c], cell);
                minimum[c] = Math.Max(minimum[c], whole ? cell : LongestWord(graphics, row[c], font));
            }

            preferred[c] += 2 * CellPaddingX;
            minimum[c] += 2 * CellPaddingX;
        }

        double width = TextWidthPoints;
        if (preferred.Sum() <= width)
        {
            double extra = width - preferred.Sum();
            double totalWeight = table.Columns.Sum(c => c.Weight);
            return [.. preferred.Select((p, c) => p + (extra * table.Columns[c].Weight / totalWeight))];
        }

        if (minimum.Sum() > width)
        {
            return null;
        }

        double lacking = preferred.Sum() - minimum.Sum();
        double spare = width - minimum.Sum();
        return [.. minimum.Select((m, c) => m + (spare * (preferred[c] - m) / lacking))];
    }

    private static double LongestWord(XGraphics graphics, string text, XFont font) =>
        text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(w => graphics.MeasureString(w, font).Width).DefaultIfEmpty(0).Max();

    /// <summary>
    /// A PNG image scaled to the text width (keeping its aspect ratio, never taller than a page's content area), on a new
    /// page when it does not fit on this one. Returns where it was drawn.
    /// </summary>
    public PdfPlacedImage Image(byte[] png)
    {
        ArgumentNullException.ThrowIfNull(png);
        using var stream = new MemoryStream(png, writable: false);
        using XImage image = XImage.FromStream(stream);
        double width = TextWidthPoints;
        double height = width * image.PixelHeight / image.PixelWidth;
        double maxHeight = ContentBottom - MarginTop;
        if (height > maxHeight)
        {
            width *= maxHeight / height;
            height = maxHeight;
        }

        XGraphics graphics = Reserve(height + 6);
        double left = MarginLeft + ((TextWidthPoints - width) / 2);
        graphics.DrawImage(image, left, _y, width, height);
        var placed = new PdfPlacedImage(_document.PageCount, left, _y, width, height);
        _images.Add(placed);
        _y += height + 6;
        return placed;
    }

    /// <summary>Draws the footers ("page x of n", the period) on every page and returns the PDF file's bytes.</summary>
    public byte[] Save()
    {
        ObjectDisposedException.ThrowIf(_saved, this);
        if (_document.PageCount == 0)
        {
            NewPage();
        }

        _graphics?.Dispose();
        _graphics = null;
        int pages = _document.PageCount;
        var footerBrush = new XSolidBrush(Muted);
        var rule = new XPen(Rule, 0.5);
        double footerTop = PageHeightPoints - MarginBottom + 18;
        for (int p = 0; p < pages; p++)
        {
            using XGraphics graphics = XGraphics.FromPdfPage(_document.Pages[p], XGraphicsPdfPageOptions.Append);
            graphics.DrawLine(rule, MarginLeft, footerTop, MarginLeft + TextWidthPoints, footerTop);
            graphics.DrawString(_info.FooterText, _footer, footerBrush, MarginLeft, footerTop + 4, XStringFormats.TopLeft);
            string pageText = string.Create(CultureInfo.InvariantCulture, $"Page {p + 1} of {pages}");
            double width = graphics.MeasureString(pageText, _footer).Width;
            graphics.DrawString(pageText, _footer, footerBrush, MarginLeft + TextWidthPoints - width, footerTop + 4, XStringFormats.TopLeft);
        }

        using var output = new MemoryStream();
        _document.Save(output, closeStream: false);
        _saved = true;
        return output.ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _graphics?.Dispose();
        _graphics = null;
        _document.Dispose();
    }

    private void WrappedBlock(string text, XFont font, double left, double width, string? bullet)
    {
        ArgumentNullException.ThrowIfNull(text);
        double lineHeight = font.GetHeight() * 1.1;
        var brush = new XSolidBrush(Ink);
        bool first = true;
        foreach (string line in Wrap(Graphics(), text, font, width))
        {
            XGraphics graphics = Reserve(lineHeight);
            if (first && bullet is not null)
            {
                graphics.DrawString(bullet, font, brush, left - 10, _y, XStringFormats.TopLeft);
            }

            graphics.DrawString(line, font, brush, left, _y, XStringFormats.TopLeft);
            _y += lineHeight;
            first = false;
        }

        _y += 4;
    }

    private static double RowHeight(XGraphics graphics, IReadOnlyList<string> cells, double[] widths, XFont font, double lineHeight)
    {
        int lines = 1;
        for (int c = 0; c < cells.Count; c++)
        {
            lines = Math.Max(lines, Wrap(graphics, cells[c], font, widths[c] - (2 * CellPaddingX)).Count);
        }

        return (lines * lineHeight) + (2 * CellPaddingY);
    }

    private void DrawRow(XGraphics graphics, IReadOnlyList<string> cells, IReadOnlyList<PdfColumn> columns, double[] widths, XFont font, double lineHeight, bool isHeader)
    {
        double height = RowHeight(graphics, cells, widths, font, lineHeight);
        if (isHeader)
        {
            graphics.DrawRectangle(new XSolidBrush(HeaderFill), MarginLeft, _y, TextWidthPoints, height);
        }

        var brush = new XSolidBrush(isHeader ? Accent : Ink);
        double x = MarginLeft;
        for (int c = 0; c < cells.Count; c++)
        {
            double inner = widths[c] - (2 * CellPaddingX);
            double lineTop = _y + CellPaddingY;
            foreach (string line in Wrap(graphics, cells[c], font, inner))
            {
                double lineX = columns[c].Align == PdfAlign.Right
                    ? x + widths[c] - CellPaddingX - graphics.MeasureString(line, font).Width
                    : x + CellPaddingX;
                graphics.DrawString(line, font, brush, lineX, lineTop, XStringFormats.TopLeft);
                lineTop += lineHeight;
            }

            x += widths[c];
        }

        _y += height;
        graphics.DrawLine(new XPen(isHeader ? Accent : Rule, isHeader ? 0.8 : 0.4), MarginLeft, _y, MarginLeft + TextWidthPoints, _y);
    }

    /// <summary>The text broken into lines no wider than <paramref name="width"/>: at spaces, and inside a word only when the word alone is too wide.</summary>
    private static List<string> Wrap(XGraphics graphics, string text, XFont font, double width)
    {
        var lines = new List<string>();
        foreach (string paragraph in text.Split('\n'))
        {
            string current = string.Empty;
            foreach (string word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = current.Length == 0 ? word : current + " " + word;
                if (graphics.MeasureString(candidate, font).Width <= width)
                {
                    current = candidate;
                    continue;
                }

                if (current.Length > 0)
                {
                    lines.Add(current);
                }

                current = word;
                while (current.Length > 1 && graphics.MeasureString(current, font).Width > width)
                {
                    int fit = current.Length - 1;
                    while (fit > 1 && graphics.MeasureString(current[..fit], font).Width > width)
                    {
                        fit--;
                    }

                    // A word too wide for its column (an identifier, a path) breaks after a separator when one fits.
                    int separator = current.AsSpan(0, fit).LastIndexOfAny(BreakAfter);
                    if (separator > 0)
                    {
                        fit = separator + 1;
                    }

                    lines.Add(current[..fit]);
                    current = current[fit..];
                }
            }

            lines.Add(current);
        }

        return lines;
    }

    /// <summary>The current page's graphics, opening the first page if there is none.</summary>
    private XGraphics Graphics() => _graphics ?? NewPage();

    /// <summary>The current page's graphics when <paramref name="height"/> points still fit on it, else a new page's.</summary>
    private XGraphics Reserve(double height)
    {
        if (_graphics is null || (_y + height > ContentBottom && _y > MarginTop))
        {
            return NewPage();
        }

        return _graphics;
    }

    private XGraphics NewPage()
    {
        ObjectDisposedException.ThrowIf(_saved, this);
        if (_document.PageCount >= MaxPages)
        {
            throw new InvalidOperationException($"The document would have more than {MaxPages} pages.");
        }

        _graphics?.Dispose();
        PdfPage page = _document.AddPage();
        page.Size = PageSize.A4;
        _graphics = XGraphics.FromPdfPage(page);
        _y = MarginTop;
        return _graphics;
    }
}
