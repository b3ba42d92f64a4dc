using System.Globalization;

namespace ObservaCost.Reporting.Reports;

/// <summary>
/// The executive summary: plain sentences made from the report's figures and nothing else. A sentence whose figures
/// were not measured is left out (the method notes say what is missing).
/// </summary>
public static class ReportSummary
{
    public static IReadOnlyList<string> Sentences(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        FleetFigures f = report.Fleet;
        var sentences = new List<string>();
        string span = $"From {ReportText.Time(report.Period.From)} to {ReportText.Time(report.Period.To)}";
        if (f.GpuHours.Current is not double gpuHours)
        {
            sentences.Add($"{span} no cost windows are stored: there is nothing to report.");
            return sentences;
        }

        sentences.Add($"{span} the fleet ran {ReportText.Number(gpuHours)} GPU-hours at {ReportText.Number(f.UtilizationPercent.Current ?? 0, 1)} % mean utilization{Points(f.UtilizationPercent, " points")}.");
        if (f.CostUsd.Current is double cost)
        {
            string hardware = f.RentalUsd.Current is double rental
                ? $"opex {ReportText.Usd(f.OpexUsd.Current ?? 0)}, rental {ReportText.Usd(rental)}"
                : $"opex incl. rental {ReportText.Usd(f.OpexUsd.Current ?? 0)}";
            sentences.Add($"Spend was {ReportText.Usd(cost)} (capex {ReportText.Usd(f.CapexUsd.Current ?? 0)}, {hardware}, energy {ReportText.Usd(f.EnergyCostUsd.Current ?? 0)}){Percent(f.CostUsd)}.");
        }

        if (f.IdleCostUsd.Current is double idle && f.IdleCostSharePercent.Current is double idleShare)
        {
            string most = report.Pools.Where(p => p.IdleCostUsd.Current is > 0).OrderByDescending(p => p.IdleCostUsd.Current).ThenBy(p => p.Pool, StringComparer.Ordinal).FirstOrDefault() is { } pool
                ? $"; pool {pool.Pool} idled most ({ReportText.Number(pool.IdleGpuHours.Current ?? 0)} GPU-hours, {ReportText.Usd(pool.IdleCostUsd.Current ?? 0)})"
                : string.Empty;
            sentences.Add($"Idle capacity cost {ReportText.Usd(idle)} ({ReportText.Number(idleShare, 1)} % of spend){Points(f.IdleCostSharePercent, " points")}{most}.");
        }

        if (f.Tokens.Current is double tokens && f.CostPerMillionTokensUsd.Current is double perMillion)
        {
            string dearest = report.Models.Where(m => m.CostPerMillionTokensUsd.Current is not null).OrderByDescending(m => m.CostPerMillionTokensUsd.Current).ThenBy(m => m.Model, StringComparer.Ordinal).FirstOrDefault() is { } model && report.Models.Count(m => m.CostPerMillionTokensUsd.Current is not null) > 1
                ? $"; {model.Model} cost most per token ({ReportText.Usd(model.CostPerMillionTokensUsd.Current!.Value)} per 1M)"
                : string.Empty;
            sentences.Add($"{ReportText.Number(tokens, 0)} tokens were served at {ReportText.Usd(perMillion)} per 1M tokens{Percent(f.CostPerMillionTokensUsd)}{dearest}.");
        }

        if (f.CapacityUtilizationPercent.Current is double capacity)
        {
            sentences.Add($"Tokens served were {ReportText.Number(capacity, 1)} % of the maximum capacity at each model's peak sustained throughput{Points(f.CapacityUtilizationPercent, " points")}.");
        }

        if (f.TokensPerKilowattHour.Current is double perKwh && f.FacilityEnergyKilowattHours.Current is double kwh)
        {
            sentences.Add($"The fleet used {ReportText.Number(kwh)} kWh of facility energy ({ReportText.Number(f.EnergyCostSharePercent.Current ?? 0, 1)} % of spend) and served {ReportText.Number(perKwh, 0)} tokens per kWh{Percent(f.TokensPerKilowattHour)}.");
        }

        if (f.RevenueUsd.Current is double revenue && f.RoiPercent.Current is double roi)
        {
            string margin = f.MarginPerMillionTokensUsd.Current is double m ? $", a margin of {ReportText.Usd(m)} per 1M tokens" : string.Empty;
            sentences.Add($"Revenue at the configured prices was {ReportText.Usd(revenue)}: ROI {ReportText.Number(roi, 1)} %{margin}.");
        }

        AnomalySection a = report.Anomalies;
        sentences.Add(string.Create(CultureInfo.InvariantCulture, $"{a.Total.Current ?? 0:0} anomalies were recorded ({a.Critical.Current ?? 0:0} critical, {a.Warning.Current ?? 0:0} warning){(a.Total.Previous is double before ? $", against {before:0} in the previous period" : string.Empty)}."));
        if (report.Forecast.Available && report.Forecast.Models.Any(m => m.GpusInFleet is not null))
        {
            sentences.Add($"At the stored demand forecast the current fleet would carry {ReportText.Number(report.Forecast.ProjectedIdleGpuHours)} idle GPU-hours ({ReportText.Usd(report.Forecast.ProjectedIdleCostUsd)}) in the {ReportText.Number(report.Forecast.Horizon.Hours, 0)} hours after the period.");
        }

        return sentences;
    }

    /// <summary><c>, up 2.5 points on the previous period</c> for a percentage, or nothing without a previous figure.</summary>
    private static string Points(ReportFigure figure, string unit) => figure.Change switch
    {
        null => string.Empty,
        0 => ", unchanged on the previous period",
        double change => $", {(change > 0 ? "up" : "down")} {ReportText.Number(Math.Abs(change), 1)}{unit} on the previous period",
    };

    /// <summary><c>, up 12.3 % on the previous period</c>, or nothing.</summary>
    private static string Percent(ReportFigure figure) => figure.ChangePercent switch
    {
        null => string.Empty,
        0 => ", unchanged on the previous period",
        double change => $", {(change > 0 ? "up" : "down")} {ReportText.Number(Math.Abs(change), 1)} % on the previous period",
    };
}
