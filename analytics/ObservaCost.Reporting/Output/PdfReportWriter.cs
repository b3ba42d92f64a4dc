using System.Globalization;
using ObservaCost.Reporting.Charts;
using ObservaCost.Reporting.Pdf;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Output;

/// <summary>
/// The report as an A4 PDF for investors and finance (docs/reports.md, "PDF"): a cover page with the period, the previous
/// period, the executive summary and the headline KPIs; a section per subject (utilization and capacity, idle capacity
/// by pool, cost per 1M tokens by model, energy, spend, ROI and margin, latency and throughput, anomalies, the forecast
/// against capacity), each chart from <see cref="ReportCharts"/> drawn by <see cref="ChartRenderer"/> with its numbers
/// in a table under it; the method notes, the pricing inputs, what was not measured and the reproducibility footer.
/// Every number is printed by <see cref="ReportText"/>, the formatter of the Markdown writer and the summary, so the
/// PDF's text can be compared with the JSON figure by figure.
/// </summary>
public sealed class PdfReportWriter : IReportWriter
{
    /// <summary>The pixel size charts are rendered at: at the text width (483 points) chart text of 12 pixels reads as ~7 points.</summary>
    public const int ChartWidthPixels = 800;

    public const int ChartHeightPixels = 360;

    /// <summary>The most anomaly events the PDF lists (the counts cover them all).</summary>
    public const int ListedAnomalies = 20;

    /// <summary>The fleet KPIs of each section, by key (<see cref="ReportDefinitions"/>); a key in no section is listed under "Other figures".</summary>
    private static readonly (string Section, string[] Keys)[] FleetSections =
    [
        ("Utilization and capacity", ["gpuHours", "utilizedGpuHours", "utilizationPercent", "promptTokens", "completionTokens", "tokens", "requestCount", "maxTokens", "capacityUtilizationPercent"]),
        ("Idle capacity", ["idleGpuHours", "idleCostUsd", "idleSharePercent", "idleCostSharePercent"]),
        ("Cost per 1M tokens", ["costPerMillionTokensUsd", "costPerMillionPromptTokensUsd", "costPerMillionCompletionTokensUsd"]),
        ("Energy", ["gpuEnergyKilowattHours", "nodeEnergyKilowattHours", "facilityEnergyKilowattHours", "pue", "tokensPerKilowattHour", "joulesPerToken", "tokensPerSecondPerWatt"]),
        ("Spend", ["costUsd", "capexUsd", "opexUsd", "energyCostUsd", "rentalUsd", "energyCostSharePercent"]),
        ("ROI and margin", ["revenueUsd", "roiPercent", "marginPerMillionTokensUsd"]),
        ("Latency and throughput", ["latencyP50Ms", "latencyP95Ms", "throughputTokensPerSecond"]),
        ("Carbon", ["co2eKilograms", "operationalCo2eKilograms", "embodiedCo2eKilograms", "idleCo2eKilograms", "co2eGramsPerMillionTokens"]),
    ];

    /// <summary>The KPIs on the cover page.</summary>
    private static readonly string[] HeadlineKeys =
    [
        "utilizationPercent", "capacityUtilizationPercent", "idleGpuHours", "idleCostUsd", "idleCostSharePercent", "costUsd",
        "costPerMillionTokensUsd", "tokensPerKilowattHour", "roiPercent", "latencyP95Ms", "throughputTokensPerSecond",
    ];

    /// <summary>The unit of every $/1M-tokens figure, as the KPI definitions spell it (the formatter prints it without a $ sign, to 4 decimals).</summary>
    private static readonly string PerMillion = ReportDefinitions.Of("costPerMillionTokensUsd").Unit;

    public string Format => "pdf";

    public string ContentType => "application/pdf";

    public string FileExtension => "pdf";

    public async Task WriteAsync(EfficiencyReport report, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        byte[] pdf = Render(report).Pdf;
        await output.WriteAsync(pdf, cancellationToken);
    }

    /// <summary>The report's PDF and where each chart went in it.</summary>
    public static PdfReportRendering Render(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        bool compared = report.PreviousPeriod is not null;
        string period = $"{ReportText.Time(report.Period.From)} – {ReportText.Time(report.Period.To)}";
        Dictionary<string, DefinedFigure> fleet = ReportDefinitions.FleetFigures(report.Fleet).ToDictionary(f => f.Definition.Key, StringComparer.Ordinal);
        Dictionary<string, ChartSpec> charts = ReportCharts.For(report).ToDictionary(c => c.Title, StringComparer.Ordinal);
        var placed = new List<PdfChartPlacement>();

        // The report holds no wall-clock time: it is "as of" its period's end, and so is the document's creation date.
        using var pdf = new PdfLayout(new PdfDocumentInfo(
            "ObservaCost efficiency report",
            "GPU inference efficiency, " + period,
            report.Period.To,
            "ObservaCost efficiency report · " + period));

        // Cover: title, periods, summary, headline KPIs.
        pdf.Title("ObservaCost efficiency report");
        pdf.Paragraph("Period: " + period);
        if (report.PreviousPeriod is { } previous)
        {
            pdf.Paragraph($"Previous period: {ReportText.Time(previous.From)} – {ReportText.Time(previous.To)}");
        }

        pdf.Heading("Executive summary");
        foreach (string sentence in report.Summary)
        {
            pdf.Bullet(sentence);
        }

        pdf.Heading("Key figures");
        pdf.Table(FigureTable([.. HeadlineKeys.Where(fleet.ContainsKey).Select(k => fleet[k])], compared));

        void Chart(string title)
        {
            ChartSpec chart = charts[title];
            if (!HasData(chart))
            {
                pdf.Paragraph($"{title}: no data to chart in this period.", italic: true);
                return;
            }

            byte[] png = ChartRenderer.RenderPng(chart, ChartWidthPixels, ChartHeightPixels);
            placed.Add(new PdfChartPlacement(chart, png, pdf.Image(png)));
        }

        void Figures(int section) => pdf.Table(FigureTable([.. FleetSections[section].Keys.Select(k => fleet[k])], compared));

        // Utilization and capacity: the KPIs, the chart over time and its numbers.
        pdf.PageBreak();
        pdf.Heading(FleetSections[0].Section);
        Figures(0);
        Chart(ReportCharts.UtilizationAndIdle(report).Title);
        pdf.Table(new PdfTable(
            [Text("Start (UTC)", 2), Number("GPU-hours"), Number("Utilization (%)"), Number("Idle GPU-hours"), Number("Idle cost"), Number("Spend")],
            [.. report.Timeline.Select(p => Row(ReportText.Time(p.Start), F(p.GpuHours, "GPU-h"), F(p.UtilizationPercent, "%"), F(p.IdleGpuHours, "GPU-h"), F(p.IdleCostUsd, "USD"), F(p.CostUsd, "USD")))]));

        // Idle capacity, fleet and per pool.
        pdf.Heading(FleetSections[1].Section);
        Figures(1);
        pdf.Heading("Idle capacity by pool", 2);
        pdf.Table(new PdfTable(
            [Text("Pool", 2), Number("GPU-hours"), Number("Utilization (%)"), Number("Idle GPU-hours"), Number("Idle cost"), Number("Idle share (%)"), Number("Spend"),
                .. compared ? new[] { Number("Idle cost, previous"), Number("Idle share (%), previous") } : []],
            [.. report.Pools.Select(p => Row(
                [p.Pool, F(p.GpuHours.Current, "GPU-h"), F(p.UtilizationPercent.Current, "%"), F(p.IdleGpuHours.Current, "GPU-h"), F(p.IdleCostUsd.Current, "USD"),
                    F(p.IdleSharePercent.Current, "%"), F(p.CostUsd.Current, "USD"), .. compared ? new[] { F(p.IdleCostUsd.Previous, "USD"), F(p.IdleSharePercent.Previous, "%") } : []]))]));

        // Cost per 1M tokens per model.
        pdf.Heading(FleetSections[2].Section);
        Figures(2);
        Chart(ReportCharts.CostPerMillionTokens(report).Title);
        pdf.Table(new PdfTable(
            [Text("Model", 2), Number("Tokens"), Number("Spend"), Number("$/1M tokens"), Number("$/1M prompt"), Number("$/1M completion"), .. compared ? new[] { Number("$/1M tokens, previous") } : []],
            [.. report.Models.Select(m => Row(
                [m.Model, F(m.Tokens.Current, "tokens"), F(m.CostUsd.Current, "USD"), F(m.CostPerMillionTokensUsd.Current, PerMillion), F(m.CostPerMillionPromptTokensUsd.Current, PerMillion),
                    F(m.CostPerMillionCompletionTokensUsd.Current, PerMillion), .. compared ? new[] { F(m.CostPerMillionTokensUsd.Previous, PerMillion) } : []]))]));

        // Energy: the KPIs, the chart and its numbers, per model, the tariff.
        pdf.Heading(FleetSections[3].Section);
        Figures(3);
        Chart(ReportCharts.Energy(report).Title);
        pdf.Table(new PdfTable(
            [Text("Start (UTC)", 2), Number("Facility energy (kWh)"), Number("Tokens"), Number("Tokens per kWh")],
            [.. report.Timeline.Select(p => Row(ReportText.Time(p.Start), F(p.FacilityEnergyKilowattHours, "kWh"), ReportText.Number(p.Tokens, 0), F(p.TokensPerKilowattHour, "tokens/kWh")))]));
        pdf.Heading("Energy and capacity by model", 2);
        pdf.Table(new PdfTable(
            [Text("Model", 2), Number("Tokens per kWh"), Number("J per token"), Number("Capacity used (%)")],
            [.. report.Models.Select(m => Row(m.Model, F(m.TokensPerKilowattHour.Current, "tokens/kWh"), F(m.JoulesPerToken.Current, "J/token"), F(m.CapacityUtilizationPercent.Current, "%")))]));
        ReportTariff tariff = report.Tariff;
        pdf.Heading("Energy tariff in force", 2);
        pdf.Paragraph($"Base rate {ReportText.Number(tariff.BaseUsdPerKilowattHour, 4)} USD/kWh, time zone {tariff.TimeZone}, PUE {ReportText.Number(tariff.Pue, 4)}.");
        if (tariff.Periods.Count > 0)
        {
            pdf.Table(new PdfTable(
                [Text("Tariff period", 2), Number("USD/kWh"), Text("Local hours"), Text("Days", 2)],
                [.. tariff.Periods.Select(p => Row(p.Name, ReportText.Number(p.UsdPerKilowattHour, 4), string.Create(CultureInfo.InvariantCulture, $"{p.StartHour:00}:00–{p.EndHour:00}:00"), string.Join(", ", p.Days)))]));
        }

        // Spend by component.
        pdf.Heading(FleetSections[4].Section);
        Figures(4);
        Chart(ReportCharts.SpendByComponent(report).Title);

        // ROI and margin, where revenue is configured.
        pdf.Heading(FleetSections[5].Section);
        if (report.Fleet.RevenueUsd.Current is null && report.Fleet.RevenueUsd.Previous is null)
        {
            pdf.Paragraph("No model has a revenue price in the pricing file: revenue, ROI and margin are not measured.", italic: true);
        }
        else
        {
            Figures(5);
            pdf.Table(new PdfTable(
                [Text("Model", 2), Number("Revenue"), Number("Margin per 1M tokens")],
                [.. report.Models.Select(m => Row(m.Model, F(m.RevenueUsd.Current, "USD"), F(m.MarginPerMillionTokensUsd.Current, PerMillion)))]));
        }

        // Latency and throughput.
        pdf.Heading(FleetSections[6].Section);
        Figures(6);
        pdf.Table(new PdfTable(
            [Text("Model", 2), Number("Latency p50 (ms)"), Number("Latency p95 (ms)")],
            [.. report.Models.Select(m => Row(m.Model, F(m.LatencyP50Ms.Current, "ms"), F(m.LatencyP95Ms.Current, "ms")))]));

        // Carbon: the fleet's, by model and by pool, and the intensity it was computed with.
        pdf.Heading(FleetSections[7].Section);
        pdf.Paragraph("Carbon intensity: " + report.CarbonIntensity + ".");
        Figures(7);
        pdf.Table(new PdfTable(
            [Text("Model", 2), Number("Carbon (kgCO2e)"), Number("gCO2e per 1M tokens")],
            [.. report.Models.Select(m => Row(m.Model, F(m.Co2eKilograms.Current, "kgCO2e"), F(m.Co2eGramsPerMillionTokens.Current, "gCO2e/1M tokens")))]));
        pdf.Table(new PdfTable(
            [Text("Pool", 2), Number("Carbon (kgCO2e)"), Number("Idle carbon (kgCO2e)")],
            [.. report.Pools.Select(p => Row(p.Pool, F(p.Co2eKilograms.Current, "kgCO2e"), F(p.IdleCo2eKilograms.Current, "kgCO2e")))]));

        var covered = FleetSections.SelectMany(s => s.Keys).ToHashSet(StringComparer.Ordinal);
        DefinedFigure[] others = [.. fleet.Values.Where(f => !covered.Contains(f.Definition.Key))];
        if (others.Length > 0)
        {
            pdf.Heading("Other figures");
            pdf.Table(FigureTable(others, compared));
        }

        // Anomalies.
        AnomalySection a = report.Anomalies;
        pdf.Heading("Anomalies");
        pdf.Table(new PdfTable(
            [Text("Severity", 2), Number("Events"), .. compared ? new[] { Number("Events, previous") } : []],
            [.. new[] { ("critical", a.Critical), ("warning", a.Warning), ("info", a.Info), ("total", a.Total) }
                .Select(s => Row([s.Item1, Count(s.Item2.Current), .. compared ? new[] { Count(s.Item2.Previous) } : []]))]));
        if (a.Events.Count > 0)
        {
            // The most severe first, then the newest: a reader of the PDF sees what matters; the JSON and CSV list them all.
            ReportAnomaly[] listed = [.. a.Events.OrderBy(e => SeverityRank(e.Severity)).ThenByDescending(e => e.Time).Take(ListedAnomalies)];
            pdf.Paragraph(
                listed.Length < a.Events.Count || a.Total.Current > a.Events.Count
                    ? string.Create(CultureInfo.InvariantCulture, $"The {listed.Length} most severe and most recent of {a.Total.Current:0} events (the JSON and CSV list {a.Events.Count}):")
                    : "The events:",
                italic: true);
            pdf.Table(new PdfTable(
                [Text("Time (UTC)", 1.5), Text("Severity"), Text("Entity", 2.5), Text("Series", 1.5), Text("Detector", 1.5), Number("Value"), Number("Expected")],
                [.. listed.Select(e => Row(ReportText.Time(e.Time), e.Severity, $"{e.EntityKind} {e.Entity}", e.Series, e.Detector, ReportText.Number(e.Value, 4), e.ExpectedValue is double x ? ReportText.Number(x, 4) : string.Empty))]));
        }

        // The demand forecast against capacity.
        ForecastSection forecast = report.Forecast;
        pdf.Heading("Demand forecast against capacity");
        if (!forecast.Available)
        {
            pdf.Paragraph("No demand forecast is stored for the hours after the period.", italic: true);
        }
        else
        {
            pdf.Paragraph($"Hours {ReportText.Time(forecast.Horizon.From)} – {ReportText.Time(forecast.Horizon.To)}, capacity planned at {ReportText.Number(forecast.TargetUtilization * 100, 1)} % of each GPU's peak: projected idle {ReportText.Number(forecast.ProjectedIdleGpuHours)} GPU-hours, {ReportText.Usd(forecast.ProjectedIdleCostUsd)}.");
            Chart(ReportCharts.ForecastAgainstCapacity(report).Title);
            pdf.Table(new PdfTable(
                [Text("Model", 2), Text("Method", 1.5), Number("GPUs"), Number("Peak tokens/s per GPU"), Number("Forecast tokens", 1.3), Number("Peak GPUs needed"), Number("Projected idle GPU-hours"), Number("Projected idle cost")],
                [.. forecast.Models.Select(m => Row(m.Model, m.Method, m.GpusInFleet?.ToString(CultureInfo.InvariantCulture) ?? ReportText.NotMeasured, F(m.TokensPerSecondPerGpu, "tokens/s"),
                    ReportText.Number(m.Hours.Sum(h => h.ForecastTokens), 0), m.Hours.Max(h => h.GpusNeeded)?.ToString(CultureInfo.InvariantCulture) ?? ReportText.NotMeasured,
                    ReportText.Number(m.ProjectedIdleGpuHours), ReportText.Usd(m.ProjectedIdleCostUsd)))]));
        }

        // Method notes, pricing inputs, what was not measured.
        pdf.PageBreak();
        pdf.Heading("Method notes");
        pdf.Table(new PdfTable(
            [Text("KPI", 1.6), Text("Unit", 1.1), Text("Definition", 5)],
            [.. report.Method.Definitions.Select(d => Row(d.Name, d.Unit, d.Definition))]));
        pdf.Heading("Pricing inputs", 2);
        pdf.Table(new PdfTable(
            [Text("Input", 3), Number("Value"), Text("Unit", 1.5)],
            [.. report.Method.PricingInputs.Select(p => Row(p.Name, ReportText.Number(p.Value, 6), p.Unit))]));
        pdf.Heading("Not measured", 2);
        if (report.Method.NotMeasured.Count == 0)
        {
            pdf.Paragraph("Every figure of the report was measured.");
        }

        foreach (string note in report.Method.NotMeasured)
        {
            pdf.Bullet(note);
        }

        if (report.Method.Notes.Count > 0)
        {
            pdf.Heading("Notes", 2);
            foreach (string note in report.Method.Notes)
            {
                pdf.Bullet(note);
            }
        }

        // Reproducibility.
        Reproducibility r = report.Reproducibility;
        pdf.Heading("Reproducibility");
        pdf.Table(new PdfTable(
            [Text("Input", 1.4), Text("Value", 4)],
            [
                Row("Pricing file SHA-256", r.PricingFileSha256),
                Row("Query inputs SHA-256", r.InputsSha256),
                Row("Data points", string.Create(CultureInfo.InvariantCulture, $"{r.CostWindowPoints} cost windows, {r.IdleWindowPoints} idle windows, {r.AnomalyEventPoints} anomaly events, {r.ForecastPoints} forecast points")),
                Row("Software", $"ObservaCost {r.SoftwareVersion} (commit {r.Commit})"),
            ]));

        return new PdfReportRendering(pdf.Save(), placed);
    }

    private static int SeverityRank(string severity) => severity switch
    {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };

    /// <summary>True when a chart has at least one measured value to draw (a chart without one is stated, not drawn empty).</summary>
    public static bool HasData(ChartSpec chart) => chart switch
    {
        TimeChart time => time.Lines.Any(l => l.Values.Any(v => !double.IsNaN(v))),
        BarChart bars => bars.Groups.Any(g => g.Values.Any(v => !double.IsNaN(v))),
        _ => false,
    };

    /// <summary>KPIs as rows of figure, unit, period and (when compared) previous and change.</summary>
    private static PdfTable FigureTable(IReadOnlyList<DefinedFigure> figures, bool compared) => new(
        compared
            ? [Text("Figure", 3), Text("Unit", 1.5), Number("Period", 1.5), Number("Previous", 1.5), Number("Change", 1.5)]
            : [Text("Figure", 3), Text("Unit", 1.5), Number("Period", 1.5)],
        [.. figures.Select(f => compared
            ? Row(f.Definition.Name, f.Definition.Unit, F(f.Figure.Current, f.Definition.Unit), F(f.Figure.Previous, f.Definition.Unit), ReportText.Change(f.Figure.Change, f.Definition.Unit))
            : Row(f.Definition.Name, f.Definition.Unit, F(f.Figure.Current, f.Definition.Unit)))]);

    private static string F(double? value, string unit) => ReportText.Figure(value, unit);

    private static string Count(double? value) => value is double v ? v.ToString("0", CultureInfo.InvariantCulture) : ReportText.NotMeasured;

    private static PdfColumn Text(string header, double weight = 1) => new(header, weight);

    private static PdfColumn Number(string header, double weight = 1) => new(header, weight, PdfAlign.Right);

    private static IReadOnlyList<string> Row(params string[] cells) => cells;
}

/// <summary>A report's PDF and the charts drawn in it.</summary>
public sealed record PdfReportRendering(byte[] Pdf, IReadOnlyList<PdfChartPlacement> Charts);

/// <summary>One chart of the PDF: what it shows, the PNG drawn, and where on which page.</summary>
public sealed record PdfChartPlacement(ChartSpec Chart, byte[] Png, PdfPlacedImage Placement);
