using ObservaCost.Reporting.Charts;
using SkiaSharp;

namespace ObservaCost.Reporting.Tests.Charts;

public sealed class ChartRendererTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    // The first palette colour (#0072B2), the colour of the first line or bar group.
    private static readonly SKColor FirstSeries = new(0x00, 0x72, 0xB2);

    // The second palette colour (#E69F00).
    private static readonly SKColor SecondSeries = new(0xE6, 0x9F, 0x00);

    private static TimeChart Utilization() => new(
        "Utilization",
        "utilization (%)",
        [new LineSeries("utilization", [.. Enumerable.Range(0, 24).Select(h => Start.AddHours(h))], [.. Enumerable.Range(0, 24).Select(h => 20.0 + (h * 3))])]);

    [Fact]
    public void RenderPng_TimeChart_DrawsTheLineInTheFirstColour()
    {
        byte[] png = ChartRenderer.RenderPng(Utilization(), 800, 400);

        using SKBitmap bitmap = SKBitmap.Decode(png);
        Assert.Equal(800, bitmap.Width);
        Assert.Equal(400, bitmap.Height);
        // A 2-pixel line across most of an 800-pixel-wide plot covers well over 500 pixels of its colour.
        Assert.True(CountColour(bitmap, FirstSeries) > 500, $"line pixels: {CountColour(bitmap, FirstSeries)}");
    }

    [Fact]
    public void RenderPng_NoLines_DrawsNoSeriesColour()
    {
        // The same chart without data must not show the series colour: the pixel count above is a real signal.
        var empty = Utilization() with { Lines = [] };

        using SKBitmap bitmap = SKBitmap.Decode(ChartRenderer.RenderPng(empty, 800, 400));

        Assert.Equal(0, CountColour(bitmap, FirstSeries));
    }

    [Fact]
    public void RenderPng_StackedBars_DrawsEveryGroup()
    {
        var spend = new BarChart(
            "Spend by component",
            "cost (USD)",
            ["previous", "period"],
            [new BarGroup("capex", [100, 120]), new BarGroup("energy", [40, 60])],
            Stacked: true);

        using SKBitmap bitmap = SKBitmap.Decode(ChartRenderer.RenderPng(spend, 600, 400));

        // Two solid bars per group, each tens of pixels wide and tall.
        Assert.True(CountColour(bitmap, FirstSeries) > 2000, $"capex pixels: {CountColour(bitmap, FirstSeries)}");
        Assert.True(CountColour(bitmap, SecondSeries) > 1000, $"energy pixels: {CountColour(bitmap, SecondSeries)}");
    }

    [Fact]
    public void RenderSvg_TimeChart_IsAnSvgWithTheTitleAndAxisLabel()
    {
        string svg = ChartRenderer.RenderSvg(Utilization(), 800, 400);

        Assert.StartsWith("<svg", svg.TrimStart(), StringComparison.Ordinal);
        Assert.Contains("Utilization", svg, StringComparison.Ordinal);
        Assert.Contains("utilization (%)", svg, StringComparison.Ordinal);
        Assert.Contains("#0072B2", svg, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void RenderPng_MismatchedSeries_NamesTheSeries()
    {
        var bad = new TimeChart("x", "y", [new LineSeries("tokens", [Start], [1, 2])]);

        var error = Assert.Throws<ArgumentException>(() => ChartRenderer.RenderPng(bad, 400, 300));

        Assert.Contains("'tokens' has 1 times and 2 values", error.Message, StringComparison.Ordinal);
    }

    private static int CountColour(SKBitmap bitmap, SKColor colour)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor pixel = bitmap.GetPixel(x, y);
                if (Math.Abs(pixel.Red - colour.Red) <= 8 && Math.Abs(pixel.Green - colour.Green) <= 8 && Math.Abs(pixel.Blue - colour.Blue) <= 8)
                {
                    count++;
                }
            }
        }

        return count;
    }
}
