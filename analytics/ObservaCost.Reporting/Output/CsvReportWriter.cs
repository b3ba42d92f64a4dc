using System.Globalization;
using System.Text;
using ObservaCost.Reporting.Reports;

namespace ObservaCost.Reporting.Output;

/// <summary>
/// The report as one CSV table (RFC 4180, UTF-8, LF line ends): <c>section,key,metric,unit,period,previous,change,change_percent</c>,
/// one row per figure; numbers round-trip (invariant culture), an empty cell is not measured (or not compared).
/// </summary>
public sealed class CsvReportWriter : IReportWriter
{
    public const string Header = "section,key,metric,unit,period,previous,change,change_percent";

    public string Format => "csv";

    public string ContentType => "text/csv; charset=utf-8";

    public string FileExtension => "csv";

    public async Task WriteAsync(EfficiencyReport report, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(Text(report));
        await output.WriteAsync(bytes, cancellationToken);
    }

    /// <summary>The CSV text.</summary>
    public static string Text(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder(Header).Append('\n');
        void Row(string section, string key, string metric, string unit, string? current, string? previous = null, string? change = null, string? changePercent = null) =>
            csv.Append(Cell(section)).Append(',').Append(Cell(key)).Append(',').Append(Cell(metric)).Append(',').Append(Cell(unit)).Append(',')
                .Append(Cell(current)).Append(',').Append(Cell(previous)).Append(',').Append(Cell(change)).Append(',').Append(Cell(changePercent)).Append('\n');
        void Figure(string section, string key, KpiDefinition definition, ReportFigure figure) =>
            Row(section, key, definition.Key, definition.Unit, Number(figure.Current), Number(figure.Previous), Number(figure.Change), Number(figure.ChangePercent));

        Row("report", string.Empty, "from", "time", Time(report.Period.From));
        Row("report", string.Empty, "to", "time", Time(report.Period.To));
        if (report.PreviousPeriod is { } previous)
        {
            Row("report", string.Empty, "previous_from", "time", Time(previous.From));
            Row("report", string.Empty, "previous_to", "time", Time(previous.To));
        }

        foreach (DefinedFigure f in ReportDefinitions.FleetFigures(report.Fleet))
        {
            Figure("fleet", string.Empty, f.Definition, f.Figure);
        }

        foreach (PoolFigures pool in report.Pools)
        {
            foreach (DefinedFigure f in ReportDefinitions.PoolFigures(pool))
            {
                Figure("pool", pool.Pool, f.Definition, f.Figure);
            }
        }

        foreach (ModelFigures model in report.Models)
        {
            foreach (DefinedFigure f in ReportDefinitions.ModelFigures(model))
            {
                Figure("model", model.Model, f.Definition, f.Figure);
            }
        }

        AnomalySection a = report.Anomalies;
        foreach ((string name, ReportFigure count) in new[] { ("info", a.Info), ("warning", a.Warning), ("critical", a.Critical), ("total", a.Total) })
        {
            Row("anomalies", string.Empty, name, "events", Number(count.Current), Number(count.Previous), Number(count.Change), Number(count.ChangePercent));
        }

        foreach (ReportAnomaly e in a.Events)
        {
            Row("anomaly", $"{Time(e.Time)} {e.EntityKind}:{e.Entity} {e.Detector} {e.Severity}", e.Series, string.Empty, Number(e.Value), Number(e.ExpectedValue));
        }

        Row("forecast", string.Empty, "projectedIdleGpuHours", "GPU-h", Number(report.Forecast.ProjectedIdleGpuHours));
        Row("forecast", string.Empty, "projectedIdleCostUsd", "USD", Number(report.Forecast.ProjectedIdleCostUsd));
        foreach (ModelForecast model in report.Forecast.Models)
        {
            foreach (ForecastHour h in model.Hours)
            {
                string key = $"{model.Model} {Time(h.Hour)}";
                Row("forecast_hour", key, "forecastTokens", "tokens", Number(h.ForecastTokens));
                Row("forecast_hour", key, "capacityTokens", "tokens", Number(h.CapacityTokens));
                Row("forecast_hour", key, "gpusNeeded", "GPUs", Number(h.GpusNeeded));
                Row("forecast_hour", key, "projectedIdleCostUsd", "USD", Number(h.ProjectedIdleCostUsd));
            }
        }

        foreach (TimelinePoint p in report.Timeline)
        {
            string key = Time(p.Start);
            Row("timeline", key, "gpuHours", "GPU-h", Number(p.GpuHours));
            Row("timeline", key, "utilizationPercent", "%", Number(p.UtilizationPercent));
            Row("timeline", key, "idleGpuHours", "GPU-h", Number(p.IdleGpuHours));
            Row("timeline", key, "idleCostUsd", "USD", Number(p.IdleCostUsd));
            Row("timeline", key, "costUsd", "USD", Number(p.CostUsd));
            Row("timeline", key, "facilityEnergyKilowattHours", "kWh", Number(p.FacilityEnergyKilowattHours));
            Row("timeline", key, "tokens", "tokens", Number(p.Tokens));
            Row("timeline", key, "tokensPerKilowattHour", "tokens/kWh", Number(p.TokensPerKilowattHour));
        }

        Row("carbon", string.Empty, "intensity", string.Empty, report.CarbonIntensity);
        foreach (PricingInput input in report.Method.PricingInputs)
        {
            Row("pricing", input.Name, "value", input.Unit, Number(input.Value));
        }

        foreach (string note in report.Method.NotMeasured)
        {
            Row("not_measured", string.Empty, "note", string.Empty, note);
        }

        Reproducibility r = report.Reproducibility;
        Row("reproducibility", string.Empty, "pricingFileSha256", "sha256", r.PricingFileSha256);
        Row("reproducibility", string.Empty, "inputsSha256", "sha256", r.InputsSha256);
        Row("reproducibility", string.Empty, "costWindowPoints", "points", Number(r.CostWindowPoints));
        Row("reproducibility", string.Empty, "idleWindowPoints", "points", Number(r.IdleWindowPoints));
        Row("reproducibility", string.Empty, "anomalyEventPoints", "points", Number(r.AnomalyEventPoints));
        Row("reproducibility", string.Empty, "forecastPoints", "points", Number(r.ForecastPoints));
        Row("reproducibility", string.Empty, "softwareVersion", string.Empty, r.SoftwareVersion);
        Row("reproducibility", string.Empty, "commit", string.Empty, r.Commit);
        return csv.ToString();
    }

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        return value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
