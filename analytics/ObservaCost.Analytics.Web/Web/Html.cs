using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using ObservaCost.Reporting.Charts;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// Writes an HTML page that is encoded by construction: every text and every attribute value passes through
/// <see cref="HtmlEncoder"/>; element and attribute names are the code's own constants. The one unencoded insert is a
/// chart's SVG from <see cref="ChartRenderer"/> (<see cref="Chart"/>): ScottPlot's SVG writer escapes every text it
/// draws (series, categories, titles), which <c>WebHtmlTests</c> checks with markup in a series name.
/// </summary>
public sealed class Html
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;
    private readonly StringBuilder _text = new(32 * 1024);

    /// <summary>Opens <c>&lt;tag a="v"…&gt;</c>; an attribute whose value is null is left out.</summary>
    public Html Open(string tag, params (string Name, string? Value)[] attributes)
    {
        _text.Append('<').Append(tag);
        foreach ((string name, string? value) in attributes)
        {
            if (value is not null)
            {
                _text.Append(' ').Append(name).Append("=\"").Append(Encoder.Encode(value)).Append('"');
            }
        }

        _text.Append('>');
        return this;
    }

    public Html Close(string tag)
    {
        _text.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary><c>&lt;tag …&gt;text&lt;/tag&gt;</c>, the text encoded.</summary>
    public Html Element(string tag, string? text, params (string Name, string? Value)[] attributes) =>
        Open(tag, attributes).Text(text).Close(tag);

    /// <summary>A void element (<c>&lt;input …&gt;</c>, <c>&lt;meta …&gt;</c>).</summary>
    public Html Void(string tag, params (string Name, string? Value)[] attributes) => Open(tag, attributes);

    public Html Text(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _text.Append(Encoder.Encode(text));
        }

        return this;
    }

    /// <summary>
    /// The chart as inline SVG from the one chart code, scaled by its <c>viewBox</c> to the width of its container,
    /// with a <c>role="img"</c> label naming it.
    /// </summary>
    public Html Chart(ChartSpec chart, int widthPixels = 900, int heightPixels = 340)
    {
        ArgumentNullException.ThrowIfNull(chart);
        string svg = ChartRenderer.RenderSvg(chart, widthPixels, heightPixels);
        int end = svg.IndexOf('>', StringComparison.Ordinal);
        string open = svg[..end];
        string viewBox = string.Create(CultureInfo.InvariantCulture, $" viewBox=\"0 0 {widthPixels} {heightPixels}\"");
        Open("figure", ("class", "chart"));
        _text.Append(open);
        if (!open.Contains("viewBox", StringComparison.Ordinal))
        {
            _text.Append(viewBox);
        }

        _text.Append(" role=\"img\" aria-label=\"").Append(Encoder.Encode(chart.Title)).Append('"');
        _text.Append(svg, end, svg.Length - end);
        return Close("figure");
    }

    /// <summary>The page's fixed markup (doctype, style sheet): a constant of the code, never data.</summary>
    internal Html Constant(string markup)
    {
        _text.Append(markup);
        return this;
    }

    public override string ToString() => _text.ToString();
}
