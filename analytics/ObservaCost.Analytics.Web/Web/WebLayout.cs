using ObservaCost.Analytics.Api;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// The frame every page shares: the document head with the one style sheet (CSS only, no script), the top bar with
/// the three views and who is signed in, and the page heading with its period and units.
/// </summary>
public static class WebLayout
{
    /// <summary>
    /// The style sheet. Wide screens lay cards and charts out in a grid; below 720 px everything stacks, tables scroll
    /// sideways in their own box and SVG charts shrink with their viewBox.
    /// </summary>
    private const string Style = """
        <style>
        :root{--ink:#1b2430;--muted:#5b6777;--line:#dfe4ea;--bg:#f5f7fa;--card:#fff;--accent:#0b63b6;--warn:#b35c00;--bad:#b3261e;--ok:#1e7a46}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 "DejaVu Sans",system-ui,sans-serif;color:var(--ink);background:var(--bg)}
        a{color:var(--accent)}
        header.top{display:flex;flex-wrap:wrap;align-items:center;gap:8px 24px;padding:10px 24px;background:#0f2238;color:#fff}
        header.top .brand{font-weight:700;font-size:17px;color:#fff;text-decoration:none;letter-spacing:.3px}
        header.top nav{display:flex;gap:4px;flex-wrap:wrap}
        header.top nav a{color:#c9d6e6;text-decoration:none;padding:6px 12px;border-radius:6px}
        header.top nav a.on,header.top nav a:hover{background:#24405f;color:#fff}
        header.top .who{margin-left:auto;font-size:13px;color:#c9d6e6;display:flex;gap:8px;align-items:center}
        header.top .who button{font:inherit;background:none;border:1px solid #56708f;color:#c9d6e6;border-radius:5px;padding:2px 8px;cursor:pointer}
        main{max-width:1240px;margin:0 auto;padding:20px 24px 48px}
        h1{font-size:24px;margin:4px 0 2px}
        h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
        h3{font-size:14px;margin:0;color:var(--muted);font-weight:600}
        .period{color:var(--muted);margin:0 0 4px}
        .units{color:var(--muted);font-size:13px;margin:0 0 12px}
        .note{color:var(--muted);font-size:13px}
        .error{background:#fdecea;border:1px solid #f5c2bd;color:var(--bad);padding:10px 14px;border-radius:8px}
        form.filters{display:flex;flex-wrap:wrap;gap:10px 14px;align-items:flex-end;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:12px 0}
        form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
        form.filters input,form.filters select{font:inherit;padding:5px 8px;border:1px solid #c3ccd6;border-radius:6px;min-width:120px;background:#fff}
        form.filters button,form.signin button{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:7px 16px;cursor:pointer}
        .quick{display:flex;gap:6px;flex-wrap:wrap;font-size:13px}
        .quick a{padding:3px 9px;border:1px solid var(--line);border-radius:12px;text-decoration:none;background:#fff}
        .quick a.on{background:var(--accent);color:#fff;border-color:var(--accent)}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:12px 0}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
        .card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.4px}
        .card .value{font-size:24px;font-weight:700;margin-top:2px}
        .card .sub{font-size:12px;color:var(--muted)}
        .up{color:var(--bad)} .down{color:var(--ok)}
        .grid2{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;align-items:start}
        .panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;min-width:0}
        figure.chart{margin:0}
        figure.chart svg{display:block;width:100%;height:auto}
        .table-block{margin:0 0 12px}
        .table-head{display:flex;justify-content:space-between;align-items:center;gap:10px;margin:0 0 6px}
        a.csv{font-size:12px;border:1px solid var(--line);padding:2px 8px;border-radius:5px;text-decoration:none;white-space:nowrap;background:#fff}
        .scroll{overflow-x:auto;max-width:100%;border:1px solid var(--line);border-radius:8px;background:#fff}
        .scroll.tall{max-height:420px;overflow-y:auto}
        table{border-collapse:collapse;width:100%;font-size:13px}
        th,td{padding:5px 10px;border-bottom:1px solid #edf0f3;text-align:left;white-space:nowrap}
        th{background:#f0f3f7;font-weight:600;position:sticky;top:0}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        td.empty{color:var(--muted);text-align:center}
        .views{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px;margin-top:16px}
        .views a.view{display:block;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px;text-decoration:none;color:var(--ink)}
        .views a.view strong{display:block;font-size:18px;color:var(--accent);margin-bottom:4px}
        .views a.view span{color:var(--muted)}
        form.signin{max-width:420px;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px;display:flex;flex-direction:column;gap:10px}
        form.signin input{font:inherit;padding:7px 9px;border:1px solid #c3ccd6;border-radius:6px}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
        .badge.idle{background:#fff1e0;color:var(--warn)} .badge.busy{background:#e3f4ea;color:var(--ok)}
        ul.summary{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px 12px 32px;margin:0}
        ul.summary li{margin:3px 0}
        .downloads{display:flex;gap:10px;flex-wrap:wrap}
        .downloads a{background:var(--accent);color:#fff;text-decoration:none;padding:8px 16px;border-radius:6px;font-weight:600}
        @media (max-width:720px){
          main{padding:14px 12px 40px}
          header.top{padding:10px 12px}
          header.top .who{margin-left:0;width:100%}
          .grid2{grid-template-columns:minmax(0,1fr)}
          h1{font-size:20px}
          .card .value{font-size:20px}
          form.filters input,form.filters select{min-width:0;width:100%}
          form.filters label{flex:1 1 140px}
        }
        </style>
        """;

    /// <summary>The views in the top bar: path, name.</summary>
    private static readonly (string Path, string Name)[] Views = [("/fleet", "Fleet"), ("/cost", "Cost"), ("/efficiency", "Efficiency")];

    /// <summary>Opens the page up to its <c>&lt;main&gt;</c>: head, top bar, the heading and the period and units lines.</summary>
    public static Html Begin(string title, string currentPath, ApiCaller? caller, string? period, string? units)
    {
        var html = new Html();
        html.Constant("<!DOCTYPE html>");
        html.Open("html", ("lang", "en"));
        html.Open("head");
        html.Void("meta", ("charset", "utf-8"));
        html.Void("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"));
        html.Element("title", title + " · ObservaCost");
        html.Constant(Style);
        html.Close("head");
        html.Open("body");
        html.Open("header", ("class", "top"));
        html.Element("a", "ObservaCost", ("class", "brand"), ("href", "/"));
        html.Open("nav");
        foreach ((string path, string name) in Views)
        {
            html.Element("a", name, ("href", path), ("class", path == currentPath ? "on" : null));
        }

        html.Close("nav");
        if (caller is not null)
        {
            html.Open("div", ("class", "who"));
            html.Text(caller.IsAdmin ? "Signed in: " + caller.Name + " (all tenants)" : "Signed in: " + caller.Name + " (tenant " + caller.Tenant + ")");
            html.Open("form", ("method", "post"), ("action", WebEndpoints.SignOutPath));
            html.Element("button", "Sign out", ("type", "submit"));
            html.Close("form").Close("div");
        }

        html.Close("header");
        html.Open("main");
        html.Element("h1", title);
        if (period is not null)
        {
            html.Element("p", "Period: " + period, ("class", "period"), ("data-period", "true"));
        }

        if (units is not null)
        {
            html.Element("p", "Units: " + units, ("class", "units"));
        }

        return html;
    }

    public static string End(Html html)
    {
        ArgumentNullException.ThrowIfNull(html);
        return html.Close("main").Close("body").Close("html").ToString();
    }

    /// <summary>A row of figure cards: label, value, an optional line under it.</summary>
    public static void Cards(Html html, IEnumerable<(string Label, string Value, string? Sub)> cards)
    {
        ArgumentNullException.ThrowIfNull(html);
        html.Open("div", ("class", "cards"));
        foreach ((string label, string value, string? sub) in cards)
        {
            html.Open("div", ("class", "card"));
            html.Element("div", label, ("class", "label"));
            html.Element("div", value, ("class", "value"));
            if (sub is not null)
            {
                html.Element("div", sub, ("class", "sub"));
            }

            html.Close("div");
        }

        html.Close("div");
    }

    /// <summary>
    /// The filter form (a plain GET form): quick periods, from and to in UTC, and one drop-down per filter with its
    /// choices; the current values stay selected.
    /// </summary>
    public static void Filters(Html html, WebRequest request, string path, IEnumerable<(string Name, string Label, IReadOnlyList<string> Choices)> selects)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentNullException.ThrowIfNull(request);
        var selectList = selects.ToList();
        html.Open("div", ("class", "quick"));
        foreach (string last in WebPeriod.Choices)
        {
            html.Element("a", "Last " + last, ("href", WebRequest.Link(path, [("last", last), .. selectList.Select(s => (s.Name, request.Filter(s.Name)))])),
                ("class", request.Period.Last == last ? "on" : null));
        }

        html.Close("div");
        html.Open("form", ("class", "filters"), ("method", "get"), ("action", path));
        html.Open("label").Text("From (UTC)");
        html.Void("input", ("name", "from"), ("type", "text"), ("placeholder", "2026-11-29T00:00"), ("value", request.Period.From.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture)));
        html.Close("label");
        html.Open("label").Text("To (UTC, exclusive)");
        html.Void("input", ("name", "to"), ("type", "text"), ("placeholder", "2026-11-30T00:00"), ("value", request.Period.To.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture)));
        html.Close("label");
        foreach ((string name, string label, IReadOnlyList<string> choices) in selectList)
        {
            string? current = request.Filter(name);
            html.Open("label").Text(label);
            html.Open("select", ("name", name));
            html.Element("option", "All", ("value", string.Empty));
            foreach (string choice in current is not null && !choices.Contains(current, StringComparer.Ordinal) ? [.. choices, current] : choices)
            {
                html.Element("option", choice, ("value", choice), ("selected", choice == current ? "selected" : null));
            }

            html.Close("select").Close("label");
        }

        html.Element("button", "Apply", ("type", "submit"));
        html.Close("form");
    }

    /// <summary>A section heading, a chart with its table beside it on wide screens (under it on narrow ones).</summary>
    public static void ChartWithTable(Html html, WebRequest request, Reporting.Charts.ChartSpec? chart, WebTable table)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(table);
        html.Open("div", ("class", "grid2"));
        html.Open("div", ("class", "panel"));
        if (chart is not null)
        {
            html.Chart(chart);
        }
        else
        {
            html.Element("p", "No data to draw in this period.", ("class", "note"));
        }

        html.Close("div");
        html.Open("div", ("class", "panel"));
        table.WriteHtml(html, request.CsvHref(table.Id), tall: true);
        html.Close("div");
        html.Close("div");
    }
}
