namespace ObservaCost.Reporting.Charts;

/// <summary>
/// What a chart shows, independent of how it is drawn: the report's PDF renders it to PNG and the web overview to
/// inline SVG through <see cref="ChartRenderer"/>, so both show the same chart from the same numbers. Every axis label
/// carries its unit.
/// </summary>
public abstract record ChartSpec(string Title);

/// <summary>The vertical axis a series is drawn against.</summary>
public enum ChartAxis
{
    Left,
    Right,
}

/// <summary>
/// A line over time. <paramref name="Values"/>[i] belongs to <paramref name="Times"/>[i]; a <see cref="double.NaN"/>
/// value is a gap (not measured), never drawn as zero.
/// </summary>
public sealed record LineSeries(
    string Name,
    IReadOnlyList<DateTimeOffset> Times,
    IReadOnlyList<double> Values,
    ChartAxis Axis = ChartAxis.Left,
    bool Dashed = false);

/// <summary>A shaded band over time between <paramref name="Lower"/> and <paramref name="Upper"/> (e.g. a prediction interval).</summary>
public sealed record BandSeries(
    string Name,
    IReadOnlyList<DateTimeOffset> Times,
    IReadOnlyList<double> Lower,
    IReadOnlyList<double> Upper);

/// <summary>
/// Lines and bands over time, against a left axis and optionally a right one (e.g. energy in kWh on the left, tokens
/// per kWh on the right).
/// </summary>
public sealed record TimeChart(
    string Title,
    string LeftAxisLabel,
    IReadOnlyList<LineSeries> Lines,
    IReadOnlyList<BandSeries>? Bands = null,
    string? RightAxisLabel = null) : ChartSpec(Title);

/// <summary>One set of bars: a value per category of the <see cref="BarChart"/>, in the chart's category order.</summary>
public sealed record BarGroup(string Name, IReadOnlyList<double> Values);

/// <summary>
/// Bars per category (e.g. $/1M tokens per model), one bar per group side by side (e.g. this period and the previous
/// one), or the groups stacked (e.g. spend by component: capex, opex, energy, rental per period).
/// </summary>
public sealed record BarChart(
    string Title,
    string ValueAxisLabel,
    IReadOnlyList<string> Categories,
    IReadOnlyList<BarGroup> Groups,
    bool Stacked = false) : ChartSpec(Title);
