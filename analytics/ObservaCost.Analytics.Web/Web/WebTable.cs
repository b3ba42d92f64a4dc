using System.Globalization;
using System.Text;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// A table column: its heading names the unit; <see cref="Format"/> is how its numbers show on the page (the CSV
/// carries them unrounded).
/// </summary>
public sealed record WebColumn(string Heading, string? Format = null)
{
    public bool IsNumber => Format is not null;
}

/// <summary>
/// A cell: a number (null: not measured, shown as —) or a text, with an optional link; <paramref name="Format"/>
/// overrides the column's format (a column of KPIs with different units).
/// </summary>
public readonly record struct WebCell(string? Text, double? Number, string? Href = null, string? Format = null)
{
    public static WebCell Of(string? text, string? href = null) => new(text ?? string.Empty, null, href);

    public static WebCell Of(double? number, string? format = null) => new(null, number is double n && double.IsFinite(n) ? n : null, null, format);

    public static implicit operator WebCell(string? text) => Of(text);

    public static implicit operator WebCell(double? number) => Of(number);

    public static implicit operator WebCell(double number) => Of(number);

    public static WebCell FromString(string? text) => Of(text);

    public static WebCell FromDouble(double number) => Of(number);

    public static WebCell FromNullableDouble(double? number) => Of(number);
}

/// <summary>
/// One table of a view: shown on the page, and downloaded as CSV by the same view with <c>format=csv&amp;table=Id</c>
/// (one mechanism for every table). Numbers use the invariant culture in both.
/// </summary>
public sealed class WebTable(string id, string caption, IReadOnlyList<WebColumn> columns)
{
    /// <summary>Most rows a table holds; the caption says when more were left out.</summary>
    public const int MaxRows = 5_000;

    private readonly List<WebCell[]> _rows = [];

    public string Id { get; } = id;

    public string Caption { get; } = caption;

    public IReadOnlyList<WebColumn> Columns { get; } = columns;

    public IReadOnlyList<WebCell[]> Rows => _rows;

    /// <summary>Rows that did not fit under <see cref="MaxRows"/>.</summary>
    public int RowsLeftOut { get; private set; }

    public void Add(params WebCell[] cells)
    {
        if (cells.Length != Columns.Count)
        {
            throw new ArgumentException($"Table {Id} has {Columns.Count} columns, not {cells.Length}.", nameof(cells));
        }

        if (_rows.Count >= MaxRows)
        {
            RowsLeftOut++;
            return;
        }

        _rows.Add(cells);
    }

    /// <summary>How a cell shows on the page.</summary>
    public string Display(int column, WebCell cell) =>
        Columns[column].IsNumber
            ? cell.Number is double n ? n.ToString(cell.Format ?? Columns[column].Format, CultureInfo.InvariantCulture) : "—"
            : cell.Text ?? string.Empty;

    /// <summary>The table as HTML: a caption, a horizontally scrolling wrapper, a CSV link with the view's query.</summary>
    public void WriteHtml(Html html, string csvHref, bool tall = false)
    {
        ArgumentNullException.ThrowIfNull(html);
        html.Open("div", ("class", "table-block"));
        html.Open("div", ("class", "table-head"));
        html.Element("h3", Caption);
        html.Element("a", "Download CSV", ("class", "csv"), ("href", csvHref), ("download", Id + ".csv"));
        html.Close("div");
        if (RowsLeftOut > 0)
        {
            html.Element("p", string.Create(CultureInfo.InvariantCulture, $"The first {MaxRows:N0} rows; {RowsLeftOut:N0} more are in no view: narrow the period or the filters."), ("class", "note"));
        }

        html.Open("div", ("class", tall ? "scroll tall" : "scroll"));
        html.Open("table", ("data-table", Id));
        html.Open("thead").Open("tr");
        foreach (WebColumn column in Columns)
        {
            html.Element("th", column.Heading, ("class", column.IsNumber ? "num" : null), ("scope", "col"));
        }

        html.Close("tr").Close("thead").Open("tbody");
        foreach (WebCell[] row in _rows)
        {
            html.Open("tr");
            for (int i = 0; i < row.Length; i++)
            {
                html.Open("td", ("class", Columns[i].IsNumber ? "num" : null));
                if (row[i].Href is string href)
                {
                    html.Element("a", Display(i, row[i]), ("href", href));
                }
                else
                {
                    html.Text(Display(i, row[i]));
                }

                html.Close("td");
            }

            html.Close("tr");
        }

        if (_rows.Count == 0)
        {
            html.Open("tr").Element("td", "No data in this period.", ("colspan", Columns.Count.ToString(CultureInfo.InvariantCulture)), ("class", "empty")).Close("tr");
        }

        html.Close("tbody").Close("table").Close("div").Close("div");
    }

    /// <summary>
    /// The table as RFC 4180 CSV: the headings, then one line per row; numbers unrounded ("R", invariant), empty when
    /// not measured; a field with a comma, quote or line break quoted. A text starting with = + - @ is prefixed with
    /// an apostrophe so that a spreadsheet does not run it as a formula.
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', Columns.Select(c => Quote(c.Heading))).Append("\r\n");
        foreach (WebCell[] row in _rows)
        {
            for (int i = 0; i < row.Length; i++)
            {
                if (i > 0)
                {
                    csv.Append(',');
                }

                csv.Append(Columns[i].IsNumber
                    ? row[i].Number is double n ? n.ToString("R", CultureInfo.InvariantCulture) : string.Empty
                    : Quote(row[i].Text ?? string.Empty));
            }

            csv.Append("\r\n");
        }

        return csv.ToString();
    }

    private static string Quote(string text)
    {
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@')
        {
            text = "'" + text;
        }

        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }
}
