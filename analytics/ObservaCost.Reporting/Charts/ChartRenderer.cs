using System.Globalization;
using ScottPlot;

namespace ObservaCost.Reporting.Charts;

/// <summary>
/// Draws a <see cref="ChartSpec"/> with ScottPlot: PNG bytes for the PDF report, SVG markup for the web overview.
/// One drawing routine for both, so the two outputs cannot disagree. Text uses DejaVu Sans (Debian's
/// <c>fonts-dejavu-core</c>), the font the PDF uses too.
/// </summary>
public static class ChartRenderer
{
    /// <summary>The font family every chart's text is set in.</summary>
    public const string FontFamily = "DejaVu Sans";

    /// <summary>The series colours in order (colour-blind-safe Okabe–Ito palette).</summary>
    private static readonly Color[] Palette =
    [
        Color.FromHex("#0072B2"), Color.FromHex("#E69F00"), Color.FromHex("#009E73"), Color.FromHex("#D55E00"),
        Color.FromHex("#CC79A7"), Color.FromHex("#56B4E9"), Color.FromHex("#F0E442"), Color.FromHex("#000000"),
    ];

    /// <summary>The chart as a PNG image of <paramref name="widthPixels"/> × <paramref name="heightPixels"/>.</summary>
    public static byte[] RenderPng(ChartSpec chart, int widthPixels, int heightPixels)
    {
        ArgumentNullException.ThrowIfNull(chart);
        CheckSize(widthPixels, heightPixels);
        Plot plot = Build(chart);
        return plot.GetImageBytes(widthPixels, heightPixels, ImageFormat.Png);
    }

    /// <summary>The chart as an SVG document (<c>&lt;svg …&gt;</c>) to inline in a page.</summary>
    public static string RenderSvg(ChartSpec chart, int widthPixels, int heightPixels)
    {
        ArgumentNullException.ThrowIfNull(chart);
        CheckSize(widthPixels, heightPixels);
        Plot plot = Build(chart);
        string svg = plot.GetSvgXml(widthPixels, heightPixels);

        // Inline in HTML: the XML declaration belongs to a stand-alone file, not to an element in a page.
        int element = svg.IndexOf("<svg", StringComparison.Ordinal);
        return element > 0 ? svg[element..] : svg;
    }

    private static void CheckSize(int widthPixels, int heightPixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(widthPixels, 50);
        ArgumentOutOfRangeException.ThrowIfLessThan(heightPixels, 50);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(widthPixels, 8000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(heightPixels, 8000);
    }

    private static Plot Build(ChartSpec chart)
    {
        var plot = new Plot();
        plot.Font.Set(FontFamily);
        plot.Title(chart.Title, size: 14);
        switch (chart)
        {
            case TimeChart time:
                DrawTime(plot, time);
                break;
            case BarChart bars:
                DrawBars(plot, bars);
                break;
            default:
                throw new ArgumentException($"Unknown chart kind {chart.GetType().Name}.", nameof(chart));
        }

        plot.Font.Set(FontFamily);
        return plot;
    }

    private static void DrawTime(Plot plot, TimeChart chart)
    {
        // Bands are shades of grey, so the lines keep the palette's first colours whether or not a band is drawn.
        int bandIndex = 0;
        foreach (BandSeries band in chart.Bands ?? [])
        {
            if (band.Times.Count != band.Lower.Count || band.Times.Count != band.Upper.Count)
            {
                throw new ArgumentException($"Band '{band.Name}' has {band.Times.Count} times, {band.Lower.Count} lower and {band.Upper.Count} upper values.", nameof(chart));
            }

            if (band.Times.Count == 0)
            {
                continue;
            }

            var fill = plot.Add.FillY(ToOaDates(band.Times), [.. band.Lower], [.. band.Upper]);
            fill.FillColor = Colors.Black.WithAlpha(0.12 + (0.08 * (bandIndex % 3)));
            fill.LineColor = Colors.Transparent;
            fill.LegendText = band.Name;
            bandIndex++;
        }

        int colour = 0;

        bool right = false;
        foreach (LineSeries line in chart.Lines)
        {
            if (line.Times.Count != line.Values.Count)
            {
                throw new ArgumentException($"Series '{line.Name}' has {line.Times.Count} times and {line.Values.Count} values.", nameof(chart));
            }

            if (line.Times.Count == 0)
            {
                continue;
            }

            var scatter = plot.Add.Scatter(ToOaDates(line.Times), [.. line.Values]);
            scatter.LegendText = line.Name;
            scatter.LineWidth = 2;
            scatter.MarkerSize = line.Times.Count == 1 ? 6 : 0;
            scatter.Color = Palette[colour % Palette.Length];
            if (line.Dashed)
            {
                scatter.LinePattern = LinePattern.Dashed;
            }

            if (line.Axis == ChartAxis.Right)
            {
                scatter.Axes.YAxis = plot.Axes.Right;
                right = true;
            }

            colour++;
        }

        plot.Axes.DateTimeTicksBottom();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.DateTimeAutomatic { LabelFormatter = FormatTick };
        plot.YLabel(chart.LeftAxisLabel);
        if (right)
        {
            plot.Axes.Right.Label.Text = chart.RightAxisLabel ?? string.Empty;
        }

        plot.ShowLegend(Alignment.UpperLeft);
    }

    private static void DrawBars(Plot plot, BarChart chart)
    {
        int categories = chart.Categories.Count;
        int groups = chart.Groups.Count;
        foreach (BarGroup group in chart.Groups)
        {
            if (group.Values.Count != categories)
            {
                throw new ArgumentException($"Bar group '{group.Name}' has {group.Values.Count} values for {categories} categories.", nameof(chart));
            }
        }

        const double CategoryWidth = 0.8;
        double barWidth = chart.Stacked || groups == 0 ? CategoryWidth : CategoryWidth / groups;
        var stackBase = new double[categories];
        var legend = new List<LegendItem>();
        for (int g = 0; g < groups; g++)
        {
            BarGroup group = chart.Groups[g];
            Color colour = Palette[g % Palette.Length];
            var bars = new List<Bar>(categories);
            for (int c = 0; c < categories; c++)
            {
                double value = group.Values[c];
                if (double.IsNaN(value))
                {
                    continue;
                }

                double position = chart.Stacked ? c : c - (CategoryWidth / 2) + (barWidth * (g + 0.5));
                double valueBase = chart.Stacked ? stackBase[c] : 0;
                bars.Add(new Bar { Position = position, ValueBase = valueBase, Value = valueBase + value, FillColor = colour, Size = barWidth * 0.95 });
                if (chart.Stacked)
                {
                    stackBase[c] += value;
                }
            }

            plot.Add.Bars(bars);
            legend.Add(new LegendItem { LabelText = group.Name, FillColor = colour });
        }

        double[] ticks = [.. Enumerable.Range(0, categories).Select(c => (double)c)];
        plot.Axes.Bottom.SetTicks(ticks, [.. chart.Categories]);
        plot.Axes.Margins(bottom: 0);
        plot.YLabel(chart.ValueAxisLabel);
        if (groups > 1)
        {
            plot.ShowLegend(legend, Alignment.UpperRight);
        }
    }

    /// <summary>A time axis label in ISO order (UTC): the date at midnight, else month-day and the time.</summary>
    private static string FormatTick(DateTime time) =>
        time.TimeOfDay == TimeSpan.Zero
            ? time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : time.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static double[] ToOaDates(IReadOnlyList<DateTimeOffset> times)
    {
        var dates = new double[times.Count];
        for (int i = 0; i < times.Count; i++)
        {
            dates[i] = times[i].UtcDateTime.ToOADate();
        }

        return dates;
    }

    /// <summary>The value formatted for a chart's table (invariant culture, 4 significant decimals at most).</summary>
    public static string FormatValue(double value) =>
        double.IsNaN(value) ? "not measured" : value.ToString("#,##0.####", CultureInfo.InvariantCulture);
}
