using System.Xml.Linq;
using ObservaCost.Analytics.Web;
using ObservaCost.Reporting.Charts;

namespace ObservaCost.Hosts.Tests.Web;

/// <summary>The page writer encodes by construction, charts included; CSV cells are quoted and defused; periods parse as documented.</summary>
public sealed class WebHtmlTests
{
    [Fact]
    public void Html_TextAndAttributes_AreEncoded()
    {
        var html = new Html();
        html.Element("td", "<script>alert(1)</script>", ("title", "\" onmouseover=\"x"));
        string text = html.ToString();
        Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\" onmouseover", text, StringComparison.Ordinal);
        Assert.StartsWith("<td title=\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Chart_SeriesNamedWithMarkup_ShowsTheNameAsTextInWellFormedSvg()
    {
        DateTimeOffset t0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
        var chart = new TimeChart("a <b> & c", "USD",
            [new LineSeries("<script>x</script>", [t0, t0.AddHours(1)], [1.0, 2.0])]);
        var html = new Html();
        html.Chart(chart, 600, 300);
        string page = html.ToString();
        Assert.DoesNotContain("<script>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", page, StringComparison.Ordinal);

        // The SVG is well-formed XML whose text reads as the names were given (encoded once, not twice).
        XElement figure = XElement.Parse(page);
        XElement root = Assert.Single(figure.Elements(), e => e.Name.LocalName == "svg");
        Assert.Equal("0 0 600 300", (string?)root.Attribute("viewBox"));
        string[] texts = [.. root.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim())];
        Assert.Contains("a <b> & c", texts);
        Assert.Contains("<script>x</script>", texts);
        Assert.Contains(root.Descendants(), e => e.Name.LocalName is "path" or "polyline");
    }

    [Fact]
    public void Csv_QuotesCommasAndQuotes_AndDefusesFormulas_NumbersUnrounded()
    {
        var table = new WebTable("t", "T", [new("Name"), new("Cost ($)", "N2")]);
        table.Add("a,\"b\"", 1.0 / 3);
        table.Add("=HYPERLINK(\"x\")", (double?)null);
        // 1/3 unrounded is 0.3333333333333333 (round-trip); the page shows 0.33.
        Assert.Equal("Name,Cost ($)\r\n\"a,\"\"b\"\"\",0.3333333333333333\r\n\"'=HYPERLINK(\"\"x\"\")\",\r\n", table.ToCsv());
        Assert.Equal("0.33", table.Display(1, table.Rows[0][1]));
        Assert.Equal("—", table.Display(1, table.Rows[1][1]));
    }

    [Theory]
    // The last 24 h up to the start of the current hour (10:20 → 10:00), hourly.
    [InlineData("last=24h", "2026-11-29T10:00:00Z", "2026-11-30T10:00:00Z", 1)]
    // Longer than 3 days: daily buckets, the ends widened to whole UTC days (11-23 10:00 → 11-23, 11-30 10:00 → 12-01).
    [InlineData("last=7d", "2026-11-23T00:00:00Z", "2026-12-01T00:00:00Z", 24)]
    [InlineData("from=2026-11-28&to=2026-11-29T06:30", "2026-11-28T00:00:00Z", "2026-11-29T07:00:00Z", 1)]
    [InlineData("from=2026-11-28T01:00:00%2B01:00&to=2026-11-28T02:00:00Z", "2026-11-28T00:00:00Z", "2026-11-28T02:00:00Z", 1)]
    public void Period_FromTheQuery_IsWholeBucketsInUtc(string query, string from, string to, int stepHours)
    {
        var now = new DateTimeOffset(2026, 11, 30, 10, 20, 0, TimeSpan.Zero);
        WebPeriod? period = WebPeriod.Parse(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query) is var q ? new Microsoft.AspNetCore.Http.QueryCollection(q) : null!, now, out string? problem);
        Assert.Null(problem);
        Assert.Equal(DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture), period!.From);
        Assert.Equal(DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture), period.To);
        Assert.Equal(TimeSpan.FromHours(stepHours), period.Step);
    }

    [Theory]
    [InlineData("from=2026-11-29&to=2026-11-28")]
    [InlineData("from=yesterday&to=2026-11-28")]
    [InlineData("last=1y")]
    [InlineData("last=200d")]
    public void Period_Invalid_IsRefusedWithAReason(string query)
    {
        var now = new DateTimeOffset(2026, 11, 30, 10, 20, 0, TimeSpan.Zero);
        Assert.Null(WebPeriod.Parse(new Microsoft.AspNetCore.Http.QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query)), now, out string? problem));
        Assert.NotNull(problem);
    }
}
