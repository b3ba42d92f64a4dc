using System.Globalization;
using System.Text;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Output;

/// <summary>
/// The report as Markdown (GitHub tables): the summary, the figures side by side with the previous period and the
/// change, per pool and model, anomalies, the forecast, the timeline, the method notes and the reproducibility footer.
/// Numbers are rounded for reading (<see cref="ReportText"/>); the CSV and JSON carry them in full.
/// </summary>
public sealed class MarkdownReportWriter : IReportWriter
{
    private static readonly string[] PoolPreviousHeader = ["Idle cost, previous", "Idle share (%), previous"];
    private static readonly string[] ModelPreviousHeader = ["$/1M tokens, previous"];

    public string Format => "md";

    public string ContentType => "text/markdown; charset=utf-8";

    public string FileExtension => "md";

    public async Task WriteAsync(EfficiencyReport report, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        await output.WriteAsync(new UTF8Encoding(false).GetBytes(Text(report)), cancellationToken);
    }

    public static string Text(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        bool compared = report.PreviousPeriod is not null;
        md.Append("# ObservaCost efficiency report\n\n");
        md.Append($"Period: {ReportText.Time(report.Period.From)} – {ReportText.Time(report.Period.To)}");
        if (report.PreviousPeriod is { } previous)
        {
            md.Append($"; previous period: {ReportText.Time(previous.From)} – {ReportText.Time(previous.To)}");
        }

        md.Append(".\n\n## Summary\n\n");
        foreach (string sentence in report.Summary)
        {
            md.Append("- ").Append(sentence).Append('\n');
        }

        md.Append("\n## Fleet\n\n");
        FigureTable(md, ReportDefinitions.FleetFigures(report.Fleet), compared);

        md.Append("\n## Idle capacity by pool\n\n");
        Table(md, ["Pool", "GPU-hours", "Utilization (%)", "Idle GPU-hours", "Idle cost", "Idle share (%)", "Spend", .. compared ? PoolPreviousHeader : []],
            report.Pools.Select(p => (IReadOnlyList<string>)[p.Pool, F(p.GpuHours.Current, "GPU-h"), F(p.UtilizationPercent.Current, "%"), F(p.IdleGpuHours.Current, "GPU-h"),
                F(p.IdleCostUsd.Current, "USD"), F(p.IdleSharePercent.Current, "%"), F(p.CostUsd.Current, "USD"),
                .. compared ? new[] { F(p.IdleCostUsd.Previous, "USD"), F(p.IdleSharePercent.Previous, "%") } : []]));

        md.Append("\n## Models\n\n");
        Table(md, ["Model", "Tokens", "Spend", "$/1M tokens", "$/1M prompt", "$/1M completion", "Tokens per kWh", "J per token", "Capacity used (%)", "Margin per 1M", "Latency p50 (ms)", "Latency p95 (ms)", .. compared ? ModelPreviousHeader : []],
            report.Models.Select(m => (IReadOnlyList<string>)[m.Model, F(m.Tokens.Current, "tokens"), F(m.CostUsd.Current, "USD"), F(m.CostPerMillionTokensUsd.Current, "USD"),
                F(m.CostPerMillionPromptTokensUsd.Current, "USD"), F(m.CostPerMillionCompletionTokensUsd.Current, "USD"), F(m.TokensPerKilowattHour.Current, "tokens/kWh"),
                F(m.JoulesPerToken.Current, "J/token"), F(m.CapacityUtilizationPercent.Current, "%"), F(m.MarginPerMillionTokensUsd.Current, "USD"),
                F(m.LatencyP50Ms.Current, "ms"), F(m.LatencyP95Ms.Current, "ms"), .. compared ? new[] { F(m.CostPerMillionTokensUsd.Previous, "USD") } : []]));

        ReportTariff tariff = report.Tariff;
        md.Append("\n## Energy tariff in force\n\n");
        md.Append($"Base rate {ReportText.Number(tariff.BaseUsdPerKilowattHour, 4)} USD/kWh, time zone {tariff.TimeZone}, PUE {ReportText.Number(tariff.Pue, 4)}.\n");
        if (tariff.Periods.Count > 0)
        {
            md.Append('\n');
            Table(md, ["Period", "USD/kWh", "Local hours", "Days"],
                tariff.Periods.Select(p => (IReadOnlyList<string>)[p.Name, ReportText.Number(p.UsdPerKilowattHour, 4),
                    string.Create(CultureInfo.InvariantCulture, $"{p.StartHour:00}:00–{p.EndHour:00}:00"), string.Join(", ", p.Days)]));
        }

        md.Append("\n## Carbon\n\n");
        md.Append("Carbon intensity: ").Append(report.CarbonIntensity).Append(".\n\n");
        Table(md, ["Model", "Carbon (kgCO2e)", "gCO2e per 1M tokens"],
            report.Models.Select(m => (IReadOnlyList<string>)[m.Model, F(m.Co2eKilograms.Current, "kgCO2e"), F(m.Co2eGramsPerMillionTokens.Current, "gCO2e/1M tokens")]));
        md.Append('\n');
        Table(md, ["Pool", "Carbon (kgCO2e)", "Idle carbon (kgCO2e)"],
            report.Pools.Select(p => (IReadOnlyList<string>)[p.Pool, F(p.Co2eKilograms.Current, "kgCO2e"), F(p.IdleCo2eKilograms.Current, "kgCO2e")]));

        AnomalySection a = report.Anomalies;
        md.Append("\n## Anomalies\n\n");
        md.Append(string.Create(CultureInfo.InvariantCulture, $"{a.Total.Current ?? 0:0} events: {a.Critical.Current ?? 0:0} critical, {a.Warning.Current ?? 0:0} warning, {a.Info.Current ?? 0:0} info"));
        md.Append(a.Total.Previous is double before ? string.Create(CultureInfo.InvariantCulture, $" (previous period: {before:0}).\n") : ".\n");
        if (a.Events.Count > 0)
        {
            md.Append('\n');
            Table(md, ["Time", "Severity", "Entity", "Series", "Detector", "Value", "Expected"],
                a.Events.Select(e => (IReadOnlyList<string>)[ReportText.Time(e.Time), e.Severity, $"{e.EntityKind} {e.Entity}", e.Series, e.Detector,
                    ReportText.Number(e.Value, 4), e.ExpectedValue is double x ? ReportText.Number(x, 4) : string.Empty]));
        }

        ForecastSection forecast = report.Forecast;
        md.Append("\n## Demand forecast against capacity\n\n");
        if (!forecast.Available)
        {
            md.Append("No demand forecast is stored for the hours after the period.\n");
        }
        else
        {
            md.Append($"Hours {ReportText.Time(forecast.Horizon.From)} – {ReportText.Time(forecast.Horizon.To)}, capacity planned at {ReportText.Number(forecast.TargetUtilization * 100, 1)} % of each GPU's peak: projected idle {ReportText.Number(forecast.ProjectedIdleGpuHours)} GPU-hours, {ReportText.Usd(forecast.ProjectedIdleCostUsd)}.\n\n");
            Table(md, ["Model", "Method", "Issued", "GPUs", "Peak tokens/s per GPU", "Forecast tokens", "Peak GPUs needed", "Projected idle GPU-hours", "Projected idle cost"],
                forecast.Models.Select(m => (IReadOnlyList<string>)[m.Model, m.Method, ReportText.Time(m.IssuedAt), m.GpusInFleet?.ToString(CultureInfo.InvariantCulture) ?? ReportText.NotMeasured,
                    F(m.TokensPerSecondPerGpu, "tokens/s"), ReportText.Number(m.Hours.Sum(h => h.ForecastTokens), 0),
                    m.Hours.Max(h => h.GpusNeeded)?.ToString(CultureInfo.InvariantCulture) ?? ReportText.NotMeasured,
                    ReportText.Number(m.ProjectedIdleGpuHours), ReportText.Usd(m.ProjectedIdleCostUsd)]));
        }

        md.Append("\n## Over time\n\n");
        Table(md, ["Start", "GPU-hours", "Utilization (%)", "Idle GPU-hours", "Idle cost", "Spend", "Facility kWh", "Tokens", "Tokens per kWh"],
            report.Timeline.Select(p => (IReadOnlyList<string>)[ReportText.Time(p.Start), F(p.GpuHours, "GPU-h"), F(p.UtilizationPercent, "%"), F(p.IdleGpuHours, "GPU-h"),
                F(p.IdleCostUsd, "USD"), F(p.CostUsd, "USD"), F(p.FacilityEnergyKilowattHours, "kWh"), ReportText.Number(p.Tokens, 0), F(p.TokensPerKilowattHour, "tokens/kWh")]));

        md.Append("\n## Method notes\n\n");
        Table(md, ["KPI", "Unit", "Definition"], report.Method.Definitions.Select(d => (IReadOnlyList<string>)[d.Name, d.Unit, d.Definition]));
        md.Append("\n### Pricing inputs\n\n");
        Table(md, ["Input", "Value", "Unit"], report.Method.PricingInputs.Select(p => (IReadOnlyList<string>)[p.Name, ReportText.Number(p.Value, 6), p.Unit]));
        md.Append("\n### Not measured\n\n");
        foreach (string note in report.Method.NotMeasured)
        {
            md.Append("- ").Append(note).Append('\n');
        }

        md.Append("\n### Notes\n\n");
        foreach (string note in report.Method.Notes)
        {
            md.Append("- ").Append(note).Append('\n');
        }

        Reproducibility r = report.Reproducibility;
        md.Append("\n## Reproducibility\n\n");
        md.Append($"- Pricing file SHA-256: `{r.PricingFileSha256}`\n");
        md.Append($"- Query inputs SHA-256: `{r.InputsSha256}`\n");
        md.Append(string.Create(CultureInfo.InvariantCulture, $"- Data points: {r.CostWindowPoints} cost windows, {r.IdleWindowPoints} idle windows, {r.AnomalyEventPoints} anomaly events, {r.ForecastPoints} forecast points\n"));
        md.Append($"- Software: ObservaCost {r.SoftwareVersion} (commit {r.Commit})\n");
        return md.ToString();
    }

    private static string F(double? value, string unit) => ReportText.Figure(value, unit);

    private static void FigureTable(StringBuilder md, IReadOnlyList<DefinedFigure> figures, bool compared)
    {
        Table(md, compared ? ["Figure", "Unit", "Period", "Previous", "Change"] : ["Figure", "Unit", "Period"],
            figures.Select(f => (IReadOnlyList<string>)(compared
                ? [f.Definition.Name, f.Definition.Unit, F(f.Figure.Current, f.Definition.Unit), F(f.Figure.Previous, f.Definition.Unit), ReportText.Change(f.Figure.Change, f.Definition.Unit)]
                : [f.Definition.Name, f.Definition.Unit, F(f.Figure.Current, f.Definition.Unit)])));
    }

    private static void Table(StringBuilder md, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        md.Append("| ").Append(string.Join(" | ", header.Select(Escape))).Append(" |\n");
        md.Append('|').Append(string.Concat(header.Select(_ => " --- |"))).Append('\n');
        foreach (IReadOnlyList<string> row in rows)
        {
            md.Append("| ").Append(string.Join(" | ", row.Select(Escape))).Append(" |\n");
        }
    }

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
