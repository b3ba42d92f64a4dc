namespace ObservaCost.Reporting.Pdf;

/// <summary>
/// What a PDF says about itself: its metadata and the period printed in every page's footer. <paramref name="CreatedAt"/>
/// comes from the report (when it was generated), never from the wall clock at render time, so two renders of one report
/// carry the same metadata.
/// </summary>
public sealed record PdfDocumentInfo(string Title, string Subject, DateTimeOffset CreatedAt, string FooterText);

/// <summary>How a table column's text sits in its cell; numbers are right-aligned so their digits line up.</summary>
public enum PdfAlign
{
    Left,
    Right,
}

/// <summary>A table column: its header, its share of the text width (relative to the other columns) and its alignment.</summary>
public sealed record PdfColumn(string Header, double Weight = 1, PdfAlign Align = PdfAlign.Left);

/// <summary>A table: one string per column in each row, already formatted. The header row repeats on every page the table spans.</summary>
public sealed record PdfTable(IReadOnlyList<PdfColumn> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>
/// Where an image was drawn: its 1-based page and its rectangle in points from the page's top-left corner
/// (A4 is 595.28 × 841.89 points), so a test can look for it in a rendering of that page.
/// </summary>
public sealed record PdfPlacedImage(int PageNumber, double LeftPoints, double TopPoints, double WidthPoints, double HeightPoints);
