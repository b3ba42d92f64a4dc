using ObservaCost.Reporting.Charts;

namespace ObservaCost.Reporting.Reports;

/// <summary>
/// The report's five charts as <see cref="ChartSpec"/>s, from the report's own figures: the one function the PDF and
/// the web overview draw them from (through <see cref="ChartRenderer"/>), so both show the numbers of the JSON and CSV.
/// A figure that was not measured is a gap (<see cref="double.NaN"/>), never a zero.
/// </summary>
public static class ReportCharts
{
    public const string PeriodName = "period";
    public const string PreviousName = "previous period";

    /// <summary>
    /// In order: utilization and idle over time; $/1M tokens per model (period vs previous); spend by component
    /// (stacked, period vs previous); energy and tokens per kWh over time; forecast demand against capacity.
    /// </summary>
    public static IReadOnlyList<ChartSpec> For(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [UtilizationAndIdle(report), CostPerMillionTokens(report), SpendByComponent(report), Energy(report), ForecastAgainstCapacity(report)];
    }

    public static TimeChart UtilizationAndIdle(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        DateTimeOffset[] times = [.. report.Timeline.Select(p => p.Start)];
        return new TimeChart(
            "Utilization and idle capacity",
            "Utilization (%)",
            [
                new LineSeries("Utilization (%)", times, [.. report.Timeline.Select(p => p.UtilizationPercent)]),
                new LineSeries("Idle (GPU-h per " + StepName(report.TimelineStep) + ")", times, [.. report.Timeline.Select(p => p.IdleGpuHours)], ChartAxis.Right),
            ],
            RightAxisLabel: "Idle (GPU-h)");
    }

    public static BarChart CostPerMillionTokens(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        ModelFigures[] models = [.. report.Models.Where(m => m.CostPerMillionTokensUsd.Current is not null || m.CostPerMillionTokensUsd.Previous is not null)];
        var groups = new List<BarGroup> { new(PeriodName, [.. models.Select(m => Value(m.CostPerMillionTokensUsd.Current))]) };
        if (report.PreviousPeriod is not null)
        {
            groups.Insert(0, new BarGroup(PreviousName, [.. models.Select(m => Value(m.CostPerMillionTokensUsd.Previous))]));
        }

        return new BarChart("Cost per 1M tokens by model", "$ per 1M tokens", [.. models.Select(m => m.Model)], groups);
    }

    public static BarChart SpendByComponent(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        FleetFigures f = report.Fleet;
        bool compared = report.PreviousPeriod is not null;
        string[] categories = compared ? [PreviousName, PeriodName] : [PeriodName];
        double[] Of(ReportFigure figure) => compared ? [Value(figure.Previous), Value(figure.Current)] : [Value(figure.Current)];
        return new BarChart(
            "Spend by component",
            "USD",
            categories,
            [
                new BarGroup("capex", Of(f.CapexUsd)),
                new BarGroup(OpexLabel(f), Of(f.OpexUsd)),
                new BarGroup("energy", Of(f.EnergyCostUsd)),
                new BarGroup("rental", Of(f.RentalUsd)),
            ],
            Stacked: true);
    }

    /// <summary>
    /// "opex", or "opex (incl. rental)" when the period or the previous one has a cost window computed before rental
    /// was split from opex (its rental null, inside opex).
    /// </summary>
    public static string OpexLabel(FleetFigures fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        bool previousInside = fleet.OpexUsd.Previous is not null && fleet.RentalUsd.Previous is null;
        return fleet.RentalUsd.Current is null || previousInside ? "opex (incl. rental)" : "opex";
    }

    public static TimeChart Energy(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        DateTimeOffset[] times = [.. report.Timeline.Select(p => p.Start)];
        return new TimeChart(
            "Energy and tokens per kWh",
            "Facility energy (kWh per " + StepName(report.TimelineStep) + ")",
            [
                new LineSeries("Facility energy (kWh)", times, [.. report.Timeline.Select(p => p.FacilityEnergyKilowattHours)]),
                new LineSeries("Tokens per kWh", times, [.. report.Timeline.Select(p => Value(p.TokensPerKilowattHour))], ChartAxis.Right),
            ],
            RightAxisLabel: "Tokens per kWh");
    }

    public static TimeChart ForecastAgainstCapacity(EfficiencyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var lines = new List<LineSeries>();
        var bands = new List<BandSeries>();
        foreach (ModelForecast model in report.Forecast.Models)
        {
            DateTimeOffset[] times = [.. model.Hours.Select(h => h.Hour)];
            lines.Add(new LineSeries(model.Model + " forecast", times, [.. model.Hours.Select(h => h.ForecastTokens)]));
            if (model.Hours.Any(h => h.CapacityTokens is not null))
            {
                lines.Add(new LineSeries(model.Model + " capacity", times, [.. model.Hours.Select(h => Value(h.CapacityTokens))], Dashed: true));
            }

            if (model.Hours.All(h => h.LowerBound is not null && h.UpperBound is not null))
            {
                bands.Add(new BandSeries(model.Model + " interval", times, [.. model.Hours.Select(h => h.LowerBound!.Value)], [.. model.Hours.Select(h => h.UpperBound!.Value)]));
            }
        }

        return new TimeChart("Forecast demand against capacity", "Tokens per hour", lines, bands);
    }

    private static double Value(double? figure) => figure ?? double.NaN;

    private static string StepName(TimeSpan step) => step == TimeSpan.FromDays(1) ? "day" : step == TimeSpan.FromHours(1) ? "hour" : Storage.Schema.CostWindow.WindowTag(step);
}
