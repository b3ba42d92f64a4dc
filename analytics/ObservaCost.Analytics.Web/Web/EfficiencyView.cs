using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Analytics.Web;

/// <summary>
/// <c>/efficiency</c>, for investors (admin tokens, as <c>/api/v1/reports</c>): the efficiency report of the period
/// built by <see cref="EfficiencyReportBuilder"/> — the same report the PDF, CSV, JSON and Markdown downloads hold —
/// shown as its executive summary, its KPIs beside the previous period with the change, its five charts from
/// <see cref="ReportCharts"/> each with its numbers in a table, what was not measured, and the downloads.
/// </summary>
public static class EfficiencyView
{
    private const string Path = "/efficiency";

    /// <summary>The report formats offered for download.</summary>
    public static readonly IReadOnlyList<string> ReportFormats = ["pdf", "csv", "json", "md"];

    /// <summary>A fleet KPI of the report: its name, unit, display format and figure.</summary>
    private sealed record Kpi(string Name, string Unit, string Format, Func<FleetFigures, ReportFigure> Figure);

    private static readonly Kpi[] Kpis =
    [
        new("Cost per 1M tokens", "USD", "N3", f => f.CostPerMillionTokensUsd),
        new("Utilization", "% of GPU-hours", "N1", f => f.UtilizationPercent),
        new("Capacity utilization", "% of peak tokens", "N1", f => f.CapacityUtilizationPercent),
        new("Idle share", "% of GPU-hours", "N1", f => f.IdleSharePercent),
        new("Tokens per kWh", "tokens/kWh", "N0", f => f.TokensPerKilowattHour),
        new("Energy per token", "J/token", "N2", f => f.JoulesPerToken),
        new("Idle GPU-hours", "GPU-h", "N1", f => f.IdleGpuHours),
        new("Idle cost", "USD", "N2", f => f.IdleCostUsd),
        new("Spend", "USD", "N2", f => f.CostUsd),
        new("Energy cost share", "% of spend", "N1", f => f.EnergyCostSharePercent),
        new("Facility energy", "kWh", "N1", f => f.FacilityEnergyKilowattHours),
        new("PUE", "ratio", "N2", f => f.Pue),
        new("Tokens served", "tokens", "N0", f => f.Tokens),
        new("Throughput", "tokens/s", "N1", f => f.ThroughputTokensPerSecond),
        new("Latency p50", "ms", "N0", f => f.LatencyP50Ms),
        new("Latency p95", "ms", "N0", f => f.LatencyP95Ms),
        new("ROI", "%", "N1", f => f.RoiPercent),
        new("Margin per 1M tokens", "USD", "N3", f => f.MarginPerMillionTokensUsd),
        new("Carbon", "kgCO2e", "N3", f => f.Co2eKilograms),
        new("Carbon per 1M tokens", "gCO2e", "N1", f => f.Co2eGramsPerMillionTokens),
        new("Idle carbon", "kgCO2e", "N3", f => f.IdleCo2eKilograms),
    ];

    public static async Task<WebViewContent> BuildAsync(WebRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        WebPeriod period = request.Period;
        EfficiencyReportBuilder builder = request.Services.GetRequiredService<EfficiencyReportBuilder>();
        var ask = new ReportRequest(period.From, period.To, ComparePrevious: true);
        if (builder.Check(ask) is string problem)
        {
            throw new WebProblemException(new Api.ApiProblem(400, "Period too long for a report", problem));
        }

        EfficiencyReport report = await builder.BuildAsync(ask, request.Context.RequestAborted);

        var kpis = new WebTable("kpis", "Efficiency KPIs, this period against the previous one", [
            new("KPI"), new("Unit"), new("This period", "N3"), new("Previous period", "N3"), new("Change (%)", "N1")]);
        foreach (Kpi kpi in Kpis)
        {
            ReportFigure figure = kpi.Figure(report.Fleet);
            kpis.Add(kpi.Name, kpi.Unit, WebCell.Of(figure.Current, kpi.Format), WebCell.Of(figure.Previous, kpi.Format), figure.ChangePercent);
        }

        string stepName = report.TimelineStep == TimeSpan.FromDays(1) ? "day" : "hour";
        var timeline = new WebTable("timeline", "Utilization and idle per " + stepName, [
            new("Bucket start (UTC)"), new("GPU-hours", "N1"), new("Utilization (%)", "N1"), new("Idle GPU-hours", "N2"), new("Idle cost ($)", "N2"), new("Cost ($)", "N2")]);
        var energy = new WebTable("energy", "Energy and tokens per kWh per " + stepName, [
            new("Bucket start (UTC)"), new("Facility energy (kWh)", "N2"), new("Tokens", "N0"), new("Tokens per kWh", "N0")]);
        foreach (TimelinePoint p in report.Timeline)
        {
            timeline.Add(WebData.Bucket(p.Start), p.GpuHours, p.UtilizationPercent, p.IdleGpuHours, p.IdleCostUsd, p.CostUsd);
            energy.Add(WebData.Bucket(p.Start), p.FacilityEnergyKilowattHours, p.Tokens, p.TokensPerKilowattHour);
        }

        var models = new WebTable("models", "Cost per 1M tokens per model", [
            new("Model"), new("$ per 1M tokens", "N3"), new("Previous ($ per 1M)", "N3"), new("$ per 1M prompt", "N3"), new("$ per 1M completion", "N3"),
            new("Tokens", "N0"), new("Tokens per kWh", "N0"), new("Energy per token (J)", "N2")]);
        foreach (ModelFigures m in report.Models)
        {
            models.Add(WebCell.Of(m.Model, FleetView.LinkTo(request, "/cost", ("model", m.Model))), m.CostPerMillionTokensUsd.Current, m.CostPerMillionTokensUsd.Previous,
                m.CostPerMillionPromptTokensUsd.Current, m.CostPerMillionCompletionTokensUsd.Current, m.Tokens.Current, m.TokensPerKilowattHour.Current, m.JoulesPerToken.Current);
        }

        var spend = new WebTable("spend", "Spend by component", [
            new("Component"), new("This period ($)", "N2"), new("Previous period ($)", "N2"), new("Change (%)", "N1")]);
        foreach ((string name, ReportFigure figure) in new[]
        {
            ("capex", report.Fleet.CapexUsd), (ReportCharts.OpexLabel(report.Fleet), report.Fleet.OpexUsd),
            ("energy", report.Fleet.EnergyCostUsd), ("rental", report.Fleet.RentalUsd), ("total", report.Fleet.CostUsd),
        })
        {
            spend.Add(name, figure.Current, figure.Previous, figure.ChangePercent);
        }

        var pools = new WebTable("pools", "Idle capacity per pool", [
            new("Pool"), new("GPU-hours", "N1"), new("Utilization (%)", "N1"), new("Idle GPU-hours", "N1"), new("Idle cost ($)", "N2"), new("Idle share (%)", "N1"), new("Cost ($)", "N2")]);
        foreach (PoolFigures p in report.Pools)
        {
            pools.Add(WebCell.Of(p.Pool, FleetView.LinkTo(request, "/fleet", ("pool", p.Pool))), p.GpuHours.Current, p.UtilizationPercent.Current, p.IdleGpuHours.Current, p.IdleCostUsd.Current, p.IdleSharePercent.Current, p.CostUsd.Current);
        }

        var carbon = new WebTable("carbon", "Carbon per model and pool", [
            new("Model or pool"), new("Carbon (kgCO2e)", "N3"), new("Previous (kgCO2e)", "N3"), new("gCO2e per 1M tokens", "N1"), new("Idle carbon (kgCO2e)", "N3")]);
        foreach (ModelFigures m in report.Models)
        {
            carbon.Add("model " + m.Model, m.Co2eKilograms.Current, m.Co2eKilograms.Previous, m.Co2eGramsPerMillionTokens.Current, (double?)null);
        }

        foreach (PoolFigures p in report.Pools)
        {
            carbon.Add("pool " + p.Pool, p.Co2eKilograms.Current, p.Co2eKilograms.Previous, (double?)null, p.IdleCo2eKilograms.Current);
        }

        var forecast = new WebTable("forecast", "Forecast demand against capacity", [
            new("Hour (UTC)"), new("Model"), new("Forecast tokens", "N0"), new("Capacity tokens", "N0"), new("GPUs needed", "N0"), new("Projected idle cost ($)", "N2")]);
        foreach (ModelForecast m in report.Forecast.Models)
        {
            foreach (ForecastHour h in m.Hours)
            {
                forecast.Add(WebData.Bucket(h.Hour), m.Model, h.ForecastTokens, h.CapacityTokens, h.GpusNeeded, h.ProjectedIdleCostUsd);
            }
        }

        return new WebViewContent([kpis, timeline, models, spend, energy, pools, carbon, forecast], html =>
        {
            Html page = WebLayout.Begin("Efficiency", Path, request.Caller,
                period.Describe() + "; compared with " + WebData.Bucket(report.PreviousPeriod!.From) + " – " + WebData.Bucket(report.PreviousPeriod.To) + " UTC",
                "cost in USD, utilization as % of GPU-hours busy, energy as facility energy (PUE included) in kWh, tokens = prompt + completion; the definitions are in the report's method notes.");
            WebLayout.Filters(page, request, Path, []);
            WebLayout.Cards(page, Kpis.Take(6).Select(kpi =>
            {
                ReportFigure figure = kpi.Figure(report.Fleet);
                string change = figure.ChangePercent is double c
                    ? c.ToString("+0.0;-0.0;0.0", System.Globalization.CultureInfo.InvariantCulture) + " % vs previous"
                    : "no previous figure";
                return (kpi.Name + " (" + kpi.Unit + ")", WebData.Number(figure.Current, kpi.Format), (string?)change);
            }));
            page.Element("h2", "Executive summary");
            page.Open("ul", ("class", "summary"));
            foreach (string sentence in report.Summary)
            {
                page.Element("li", sentence);
            }

            page.Close("ul");
            page.Element("h2", "Report downloads");
            page.Element("p", "The efficiency report of this period from /api/v1/reports, the same figures as this page, in each format.", ("class", "note"));
            page.Open("div", ("class", "downloads"));
            foreach (string format in ReportFormats)
            {
                page.Element("a", format.ToUpperInvariant(), ("href", "/api/v1/reports?" + period.Query() + "&format=" + format), ("data-format", format));
            }

            page.Close("div");
            page.Element("h2", "KPIs against the previous period");
            kpis.WriteHtml(page, request.CsvHref(kpis.Id));
            page.Element("h2", "Utilization and idle over time");
            WebLayout.ChartWithTable(page, request, report.Timeline.Count == 0 ? null : ReportCharts.UtilizationAndIdle(report), timeline);
            page.Element("h2", "Cost per 1M tokens per model");
            WebLayout.ChartWithTable(page, request, report.Models.Count == 0 ? null : ReportCharts.CostPerMillionTokens(report), models);
            page.Element("h2", "Spend by component");
            WebLayout.ChartWithTable(page, request, ReportCharts.SpendByComponent(report), spend);
            page.Element("h2", "Energy and tokens per kWh");
            WebLayout.ChartWithTable(page, request, report.Timeline.Count == 0 ? null : ReportCharts.Energy(report), energy);
            page.Element("h2", "Idle capacity per pool");
            pools.WriteHtml(page, request.CsvHref(pools.Id));
            page.Element("h2", "Carbon");
            page.Element("p", "Carbon intensity: " + report.CarbonIntensity + ". Operational carbon is facility energy × the intensity of each moment; embodied carbon is amortised per GPU-hour like capex.", ("class", "note"));
            carbon.WriteHtml(page, request.CsvHref(carbon.Id));
            page.Element("h2", "Forecast demand against capacity");
            WebLayout.ChartWithTable(page, request, report.Forecast.Available && report.Forecast.Models.Count > 0 ? ReportCharts.ForecastAgainstCapacity(report) : null, forecast);
            if (report.Method.NotMeasured.Count > 0)
            {
                page.Element("h2", "Not measured");
                page.Open("ul", ("class", "summary"));
                foreach (string sentence in report.Method.NotMeasured)
                {
                    page.Element("li", sentence);
                }

                page.Close("ul");
            }

            html.Constant(WebLayout.End(page));
        });
    }
}
