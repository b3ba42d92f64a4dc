namespace ObservaCost.Analytics.Web;

/// <summary><c>/</c>: the three views, each with whom it is for.</summary>
public static class IndexView
{
    public static WebViewContent Build(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new WebViewContent([], html =>
        {
            Html page = WebLayout.Begin("GPU inference cost overview", "/", request.Caller, null, null);
            page.Element("p", "Three views of the same stored cost, idle and KPI windows that the API serves. Each page states its period (UTC) and units; every chart has its numbers in a table with a CSV download.", ("class", "note"));
            page.Open("div", ("class", "views"));
            if (request.Caller.IsAdmin)
            {
                View(page, "/fleet", "Fleet", "For platform engineers: GPUs now by pool and node (utilization, power, idle), idle GPUs and idle dollars over time, anomalies.");
            }

            View(page, "/cost", "Cost", "For FinOps: $ per 1M tokens per model and tenant over time, spend by component, idle share and the top idle pools, with filters and CSV.");
            if (request.Caller.IsAdmin)
            {
                View(page, "/efficiency", "Efficiency", "For investors: the efficiency report's summary and KPIs against the previous period, its charts and tables, and the report downloads.");
            }
            page.Close("div");
            html.Constant(WebLayout.End(page));
        });
    }

    private static void View(Html html, string path, string name, string text)
    {
        html.Open("a", ("class", "view"), ("href", path));
        html.Element("strong", name);
        html.Element("span", text);
        html.Close("a");
    }
}
