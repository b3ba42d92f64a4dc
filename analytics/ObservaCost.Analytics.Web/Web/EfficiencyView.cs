using System.Globalization;
using ObservaCost.Analytics.Api;
using ObservaCost.Reporting.Charts;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// <c>/efficiency</c>, for investors: the fleet's efficiency KPIs over the period beside the previous period of the
/// same length with the change, their trend bucket by bucket, the KPIs per model, and the report downloads
/// (<c>/api/v1/reports</c> in each format). The KPIs are <see cref="ObservaCost.Analytics.Kpi.KpiCalculator"/>'s, read through the API's
/// KPI reader as the caller (a tenant's cover its own rows, without idle figures).
/// </summary>
public static class EfficiencyView
{
    private const string Path = "/efficiency";

    /// <summary>The report formats offered for download.</summary>
    public static readonly IReadOnlyList<string> ReportFormats = ["pdf", "csv", "json", "md"];

    /// <summary>A KPI: its name, unit, display format, and how to read it from a row.</summary>
    private sealed record Kpi(string Name, string Unit, string Format, Func<KpiRow, double?> Value, bool AdminOnly = false);

    private static readonly Kpi[] Kpis =
    [
        new("Cost per 1M tokens", "USD", "N3", k => k.CostPerMillionTokensUsd),
        new("Utilization", "%", "N1", k => k.UtilizationPercent),
        new("Capacity utilization", "% of peak tokens", "N1", k => k.CapacityUtilizationRatio * 100),
        new("Tokens per kWh", "tokens/kWh", "N0", k => k.TokensPerKilowattHour),
        new("Energy per token", "J/token", "N2", k => k.JoulesPerToken),
        new("Idle share", "% of GPU-hours", "N1", k => k.IdleShare * 100, AdminOnly: true),
        new("Idle cost", "USD", "N2", k => k.IdleCostUsd, AdminOnly: true),
        new("Spend", "USD", "N2", k => k.CostUsd),
        new("Tokens served", "tokens", "N0", k => k.Tokens),
        new("PUE", "ratio", "N2", k => k.Pue),
        new("ROI", "ratio", "N3", k => k.RoiRatio),
    ];

    public static async Task<WebViewContent> BuildAsync(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        WebPeriod period = request.Period, previous = period.Previous();
        KpiRow? now = Fleet(await WebData.KpisAsync(request, period, null, Tags.Model));
        KpiRow? before = Fleet(await WebData.KpisAsync(request, previous, null, Tags.Model));
        IReadOnlyList<KpiRow> perModel = (await WebData.KpisAsync(request, period, null, Tags.Model)).Where(k => k.Scope == "model").ToList();
        KpiRow[] trend = [.. (await WebData.KpisAsync(request, period, period.Step, Tags.Model)).Where(k => k.Scope == "fleet").OrderBy(k => k.WindowStart)];
        Kpi[] shown = [.. Kpis.Where(k => request.Caller.IsAdmin || !k.AdminOnly)];

        var summary = new WebTable("kpis", "Efficiency KPIs, this period against the previous one", [
            new("KPI"), new("Unit"), new("This period", "N3"), new("Previous period", "N3"), new("Change (%)", "N1")]);
        foreach (Kpi kpi in shown)
        {
            double? a = now is null ? null : kpi.Value(now), b = before is null ? null : kpi.Value(before);
            summary.Add(kpi.Name, kpi.Unit, WebCell.Of(a, kpi.Format), WebCell.Of(b, kpi.Format), a is double x && b is double y && y != 0 ? (x - y) / Math.Abs(y) * 100 : (double?)null);
        }

        var trendTable = new WebTable("trend", "KPI trend per bucket (fleet)", [
            new("Bucket start (UTC)"), new("$ per 1M tokens", "N3"), new("Utilization (%)", "N1"), new("Tokens per kWh", "N0"), new("Spend ($)", "N2")]);
        foreach (KpiRow k in trend)
        {
            trendTable.Add(WebData.Bucket(k.WindowStart), k.CostPerMillionTokensUsd, k.UtilizationPercent, k.TokensPerKilowattHour, k.CostUsd);
        }

        var models = new WebTable("models", "KPIs per model over the period", [
            new("Model"), new("$ per 1M tokens", "N3"), new("Tokens", "N0"), new("Tokens per kWh", "N0"), new("Energy per token (J)", "N2"), new("Capacity utilization (%)", "N1")]);
        foreach (KpiRow k in perModel.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            models.Add(WebCell.Of(k.Key, FleetView.LinkTo(request, "/cost", ("model", k.Key))), k.CostPerMillionTokensUsd, k.Tokens, k.TokensPerKilowattHour, k.JoulesPerToken, k.CapacityUtilizationRatio * 100);
        }

        return new WebViewContent([summary, trendTable, models], html =>
        {
            Html page = WebLayout.Begin("Efficiency", Path, request.Caller, period.Describe() + "; compared with " + previous.Describe(),
                "cost in USD, utilization as % of GPU-hours busy, energy as facility energy (PUE included), tokens = prompt + completion.");
            WebLayout.Filters(page, request, Path, []);
            WebLayout.Cards(page, shown.Take(6).Select(kpi =>
            {
                double? a = now is null ? null : kpi.Value(now), b = before is null ? null : kpi.Value(before);
                string change = a is double x && b is double y && y != 0
                    ? ((x - y) / Math.Abs(y) * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " % vs previous"
                    : "no previous figure";
                return (kpi.Name + " (" + kpi.Unit + ")", WebData.Number(a, kpi.Format), (string?)change);
            }));

            page.Element("h2", "Report downloads");
            page.Element("p", "The efficiency report of this period from /api/v1/reports (admin tokens), in each format.", ("class", "note"));
            page.Open("div", ("class", "downloads"));
            foreach (string format in ReportFormats)
            {
                page.Element("a", format.ToUpperInvariant(), ("href", "/api/v1/reports?" + period.Query() + "&format=" + format), ("data-format", format));
            }

            page.Close("div");
            page.Element("h2", "KPIs against the previous period");
            summary.WriteHtml(page, request.CsvHref(summary.Id));
            page.Element("h2", "Trend");
            DateTimeOffset[] times = [.. trend.Select(k => k.WindowStart)];
            ChartSpec? chart = trend.Length == 0 ? null : new TimeChart(
                "Cost per 1M tokens and utilization", "USD per 1M tokens",
                [new LineSeries("$ per 1M tokens", times, [.. trend.Select(k => k.CostPerMillionTokensUsd ?? double.NaN)]),
                 new LineSeries("utilization %", times, [.. trend.Select(k => k.UtilizationPercent)], ChartAxis.Right, Dashed: true)],
                RightAxisLabel: "utilization (%)");
            WebLayout.ChartWithTable(page, request, chart, trendTable);
            page.Element("h2", "Per model");
            // Models that served no token (a zombie, a canary no request reached) have no $/1M tokens: no bar.
            KpiRow[] served = [.. perModel.Where(k => k.CostPerMillionTokensUsd is not null).OrderBy(k => k.Key, StringComparer.Ordinal)];
            ChartSpec? modelChart = served.Length == 0 ? null : new BarChart(
                "$ per 1M tokens by model", "USD per 1M tokens",
                [.. served.Select(k => k.Key)],
                [new BarGroup("this period", [.. served.Select(k => k.CostPerMillionTokensUsd!.Value)])]);
            WebLayout.ChartWithTable(page, request, modelChart, models);
            html.Constant(WebLayout.End(page));
        });
    }

    private static KpiRow? Fleet(IReadOnlyList<KpiRow> rows) => rows.FirstOrDefault(k => k.Scope == "fleet");
}
