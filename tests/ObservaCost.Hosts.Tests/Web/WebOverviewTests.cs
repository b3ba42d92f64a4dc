using System.Globalization;
using System.Text;
using Microsoft.Playwright;
using ObservaCost.Analytics.Api;
using SkiaSharp;
using Xunit.Abstractions;

namespace ObservaCost.Hosts.Tests.Web;

/// <summary>
/// The web overview in a real browser (Debian's chromium, headless, through Playwright) against the single-machine
/// host with the demo fleet's last day: every view draws its charts (SVG with series paths) and tables with data rows
/// at 1280 and 390 px without the page overflowing sideways, its screenshot is not blank, a tenant token sees only its
/// own rows and is refused the fleet view, sign-in sets an HttpOnly SameSite=Strict cookie, and every CSV download
/// parses and matches its table.
/// </summary>
public sealed class WebOverviewTests(WebDemoFixture demo, ITestOutputHelper log) : IClassFixture<WebDemoFixture>
{
    /// <summary>The tables each view must show with data rows for the demo fleet's day.</summary>
    public static TheoryData<string, int> Views() => new()
    {
        { "/fleet", 1280 }, { "/fleet", 390 },
        { "/cost", 1280 }, { "/cost", 390 },
        { "/efficiency", 1280 }, { "/efficiency", 390 },
    };

    private static readonly Dictionary<string, string[]> TablesWithData = new(StringComparer.Ordinal)
    {
        ["/fleet"] = ["pools-now", "gpus-now", "idle-over-time", "anomalies"],
        ["/cost"] = ["cost-per-model", "cost-per-tenant", "spend", "idle-pools"],
        ["/efficiency"] = ["kpis", "timeline", "models", "spend", "energy", "pools", "carbon"],
    };

    [Theory]
    [MemberData(nameof(Views))]
    public async Task View_AdminAtWidth_RendersChartsAndTablesWithData(string path, int width)
    {
        await using IBrowserContext context = await demo.SignedInAsync(WebDemoFixture.AdminToken, width);
        IPage page = await context.NewPageAsync();
        IResponse? response = await page.GotoAsync(path);
        Assert.Equal(200, response!.Status);

        // The period and units are stated.
        Assert.Contains("UTC", await page.Locator("p.period").InnerTextAsync(), StringComparison.Ordinal);
        Assert.StartsWith("Units:", await page.Locator("p.units").InnerTextAsync(), StringComparison.Ordinal);

        // Every chart is an SVG drawn from data: at least one series path inside, scaled by its viewBox.
        ILocator charts = page.Locator("figure.chart svg");
        int chartCount = await charts.CountAsync();
        Assert.True(chartCount >= 1, path + " has no chart");
        for (int i = 0; i < chartCount; i++)
        {
            Assert.NotNull(await charts.Nth(i).GetAttributeAsync("viewBox"));
            Assert.True(await charts.Nth(i).Locator("path, polyline").CountAsync() > 0, $"{path}: chart {i} has no series path");
            var box = (await charts.Nth(i).BoundingBoxAsync())!;
            Assert.True(box.Width <= width, $"{path}: chart {i} is {box.Width} px wide in a {width} px window");
        }

        foreach (string table in TablesWithData[path])
        {
            int rows = await page.Locator($"table[data-table='{table}'] tbody tr:not(:has(td.empty))").CountAsync();
            Assert.True(rows > 0, $"{path}: table {table} has no data row");
        }

        if (path == "/efficiency")
        {
            // The demo prices carry carbon (docs/pricing.example.json): the carbon section names the intensity, and the
            // fleet's kgCO2e is measured (a number, not "not measured").
            Assert.Contains("Carbon intensity: illustrative German grid averages: time-of-use schedule", await page.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Matches(@"^\d", (await page.Locator("table[data-table='kpis'] tbody tr:has(td:text-is('Carbon')) td").Nth(2).InnerTextAsync()).Trim());
        }

        // Tables scroll in their own box: the page itself is no wider than the window.
        int scrollWidth = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(scrollWidth <= width, $"{path} is {scrollWidth} px wide at {width} px");

        string file = Path.Combine(demo.ScreenshotDirectory, string.Create(CultureInfo.InvariantCulture, $"{path.Trim('/')}-{width}.png"));
        byte[] png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Path = file });
        double share = NonWhiteShare(png);
        double chartShare = NonWhiteShare(await charts.First.ScreenshotAsync());
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}: {share:P1} of the page and {chartShare:P1} of the first chart are not white"));
        Assert.True(share > 0.03, $"{file} looks blank: {share:P2} not white");
        Assert.True(chartShare > 0.01, $"{file}: the first chart looks blank: {chartShare:P2} not white");
    }

    [Fact]
    public async Task TenantToken_SeesOnlyItsRows_AndIsRefusedTheFleetAndEfficiencyViews()
    {
        // The admin sees the three demo tenants: the tenant check below can fail.
        await using IBrowserContext admin = await demo.SignedInAsync(WebDemoFixture.AdminToken, 1280);
        IPage adminPage = await admin.NewPageAsync();
        await adminPage.GotoAsync("/cost");
        string[] adminTenants = [.. (await Column(adminPage, "cost-per-tenant", 1)).Distinct().Order(StringComparer.Ordinal)];
        Assert.Superset(new HashSet<string>(["acme", "globex", "initech"]), new HashSet<string>(adminTenants));

        await using IBrowserContext tenant = await demo.SignedInAsync(WebDemoFixture.TenantToken, 1280);
        IPage page = await tenant.NewPageAsync();
        IResponse? cost = await page.GotoAsync("/cost");
        Assert.Equal(200, cost!.Status);
        string[] tenants = [.. (await Column(page, "cost-per-tenant", 1)).Distinct()];
        Assert.Equal([WebDemoFixture.Tenant], tenants);
        string[] models = [.. (await Column(page, "cost-per-model", 1)).Distinct()];
        Assert.NotEmpty(models);
        Assert.Equal(0, await page.Locator("table[data-table='idle-pools']").CountAsync());
        Assert.Equal(0, await page.Locator("select[name='tenant']").CountAsync());

        // The tenant's spend is less than the fleet's: its rows only.
        double tenantSpend = Sum(await Column(page, "spend", 5));
        double fleetSpend = Sum(await Column(adminPage, "spend", 5));
        Assert.InRange(tenantSpend, 0.01, fleetSpend * 0.9);

        // Spend by component: the demo rents chat-h200 and small-l4, so rental is a column of its own with dollars in
        // it, and each bucket's capex + opex + rental + energy is its total (to the cents the cells are rounded to).
        Assert.True(Sum(await Column(adminPage, "spend", 3)) > 0, "the demo fleet's rental");
        List<double>[] parts = [.. await Task.WhenAll(Enumerable.Range(1, 5).Select(async c => (await Column(adminPage, "spend", c)).Select(v => Sum([v])).ToList()))];
        for (int row = 0; row < parts[0].Count; row++)
        {
            Assert.InRange(parts[0][row] + parts[1][row] + parts[2][row] + parts[3][row] - parts[4][row], -0.025, 0.025);
        }

        // A tenant filter in the URL cannot widen the tenant's view.
        await page.GotoAsync("/cost?tenant=globex");
        Assert.Empty(await Column(page, "cost-per-tenant", 1));

        IResponse? fleet = await page.GotoAsync("/fleet");
        Assert.Equal(403, fleet!.Status);
        Assert.Equal(0, await page.Locator("table").CountAsync());

        // The efficiency view is the fleet's report, admin-only as /api/v1/reports is.
        IResponse? efficiency = await page.GotoAsync("/efficiency");
        Assert.Equal(403, efficiency!.Status);
        Assert.Equal(0, await page.Locator("table").CountAsync());
    }

    [Fact]
    public async Task SignIn_SetsAnHttpOnlyStrictCookie_AndAPageWithoutItAsksForAToken()
    {
        await using IBrowserContext anonymous = await demo.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = demo.BaseUrl });
        IPage page = await anonymous.NewPageAsync();
        IResponse? refused = await page.GotoAsync("/cost");
        Assert.Equal(401, refused!.Status);
        Assert.Equal(1, await page.Locator("form.signin input[name='token']").CountAsync());

        // A wrong token is refused with the form again.
        await page.FillAsync("#token", "not-a-token");
        await page.ClickAsync("form.signin button");
        Assert.Contains("not a read token", await page.Locator("p.error").InnerTextAsync(), StringComparison.Ordinal);

        await page.FillAsync("#token", WebDemoFixture.AdminToken);
        await page.ClickAsync("form.signin button");
        await page.WaitForURLAsync(demo.BaseUrl + "/cost");
        Assert.DoesNotContain(WebDemoFixture.AdminToken, page.Url, StringComparison.Ordinal);
        Assert.True(await page.Locator("figure.chart svg").CountAsync() > 0);
        BrowserContextCookiesResult cookie = Assert.Single(await anonymous.CookiesAsync(), c => c.Name == ApiAuthentication.CookieName);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal(-1, cookie.Expires); // a session cookie
        // Script on the page cannot read it.
        Assert.DoesNotContain(ApiAuthentication.CookieName, await page.EvaluateAsync<string>("() => document.cookie"), StringComparison.Ordinal);

        // The report downloads (and the rest of /api/v1) accept the same cookie.
        IAPIResponse api = await anonymous.APIRequest.GetAsync("/api/v1/kpis?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z");
        Assert.Equal(200, api.Status);

        await page.ClickAsync("header.top .who button");
        await page.WaitForURLAsync(demo.BaseUrl + "/signin");
        Assert.DoesNotContain(await anonymous.CookiesAsync(), c => c.Name == ApiAuthentication.CookieName);
    }

    [Theory]
    [InlineData("/cost")]
    [InlineData("/fleet")]
    [InlineData("/efficiency")]
    public async Task CsvDownloads_ParseAndMatchTheirTables(string path)
    {
        await using IBrowserContext context = await demo.SignedInAsync(WebDemoFixture.AdminToken, 1280);
        IPage page = await context.NewPageAsync();
        await page.GotoAsync(path);
        ILocator blocks = page.Locator("div.table-block");
        int count = await blocks.CountAsync();
        Assert.True(count >= 3, path);
        for (int b = 0; b < count; b++)
        {
            ILocator block = blocks.Nth(b);
            string id = (await block.Locator("table").GetAttributeAsync("data-table"))!;
            string href = (await block.Locator("a.csv").GetAttributeAsync("href"))!;
            IAPIResponse response = await context.APIRequest.GetAsync(href);
            Assert.Equal(200, response.Status);
            Assert.StartsWith("text/csv", response.Headers["content-type"], StringComparison.Ordinal);
            List<string[]> csv = ParseCsv(await response.TextAsync());

            string[] headings = [.. await block.Locator("thead th").AllInnerTextsAsync()];
            Assert.Equal(headings, csv[0]);
            string[][] rows = await page.EvalOnSelectorAllAsync<string[][]>(
                $"table[data-table='{id}'] tbody tr:not(:has(td.empty))", "rows => rows.map(r => [...r.cells].map(c => c.textContent))");
            Assert.Equal(rows.Length, csv.Count - 1);
            for (int r = 0; r < rows.Length; r++)
            {
                for (int c = 0; c < headings.Length; c++)
                {
                    AssertSame(rows[r][c], csv[r + 1][c], $"{path} {id} row {r} column {headings[c]}");
                }
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path} {id}: {rows.Length} rows match"));
        }
    }

    /// <summary>A page cell and its CSV field agree: the same text, or the CSV number rounds to the page's digits.</summary>
    private static void AssertSame(string shown, string csv, string where)
    {
        if (shown == "—")
        {
            Assert.True(csv.Length == 0, $"{where}: page — but CSV '{csv}'");
            return;
        }

        string plain = shown.Replace(",", string.Empty, StringComparison.Ordinal);
        if (double.TryParse(plain, NumberStyles.Float, CultureInfo.InvariantCulture, out double number)
            && double.TryParse(csv, NumberStyles.Float, CultureInfo.InvariantCulture, out double exact))
        {
            int point = plain.IndexOf('.', StringComparison.Ordinal);
            int digits = point < 0 || plain.Contains('E', StringComparison.Ordinal) ? 0 : plain.Length - point - 1;
            double tolerance = plain.Contains('E', StringComparison.Ordinal) ? Math.Abs(exact) * 1e-5 : 0.5 * Math.Pow(10, -digits) + 1e-9;
            Assert.True(Math.Abs(number - exact) <= tolerance, $"{where}: page {shown} vs CSV {csv}");
            return;
        }

        Assert.True(shown == csv, $"{where}: page '{shown}' vs CSV '{csv}'");
    }

    private static async Task<List<string>> Column(IPage page, string table, int column) =>
        [.. await page.EvalOnSelectorAllAsync<string[]>(
            $"table[data-table='{table}'] tbody tr:not(:has(td.empty))", $"rows => rows.map(r => r.cells[{column}].textContent)")];

    private static double Sum(IEnumerable<string> values) =>
        values.Sum(v => double.Parse(v.Replace(",", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture));

    /// <summary>RFC 4180: fields separated by commas, quoted fields with doubled quotes, CRLF line ends.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (ch == '\n')
            {
                fields.Add(field.ToString().TrimEnd('\r'));
                field.Clear();
                rows.Add([.. fields]);
                fields.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }

        return rows;
    }

    /// <summary>The share of pixels that are not (near) white: a blank render is almost all white or background.</summary>
    private static double NonWhiteShare(byte[] png)
    {
        using SKBitmap bitmap = SKBitmap.Decode(png);
        long ink = 0;
        for (int y = 0; y < bitmap.Height; y += 2)
        {
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                SKColor pixel = bitmap.GetPixel(x, y);
                if (pixel.Red < 230 || pixel.Green < 230 || pixel.Blue < 230)
                {
                    ink++;
                }
            }
        }

        return ink / (double)(((bitmap.Height + 1) / 2) * ((bitmap.Width + 1) / 2));
    }
}
