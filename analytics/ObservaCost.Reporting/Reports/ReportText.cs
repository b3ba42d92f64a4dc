using System.Globalization;

namespace ObservaCost.Reporting.Reports;

/// <summary>How the report's human-readable outputs (summary, Markdown) print numbers: invariant culture, rounded for reading.</summary>
public static class ReportText
{
    public const string NotMeasured = "not measured";

    /// <summary>Dollars with cents: <c>$1,234.57</c>.</summary>
    public static string Usd(double value) => (value < 0 ? "-$" : "$") + Math.Abs(value).ToString("#,##0.00", CultureInfo.InvariantCulture);

    /// <summary>A number with up to <paramref name="decimals"/> decimals and thousands separators.</summary>
    public static string Number(double value, int decimals = 2) =>
        value.ToString("#,##0." + new string('#', Math.Max(decimals, 1)), CultureInfo.InvariantCulture);

    /// <summary>A figure in its unit for a table cell: dollars for USD, else a number; <see cref="NotMeasured"/> for null.</summary>
    public static string Figure(double? value, string unit) => value switch
    {
        null => NotMeasured,
        double v when unit == "USD" => Usd(v),
        double v => Number(v, Math.Abs(v) >= 100 ? 2 : 4),
    };

    /// <summary>A signed change: <c>+1.5</c>, <c>-0.25</c>; empty for null.</summary>
    public static string Change(double? value, string unit) => value switch
    {
        null => string.Empty,
        double v when unit == "USD" => (v >= 0 ? "+" : "-") + Usd(Math.Abs(v)),
        double v => (v >= 0 ? "+" : "-") + Number(Math.Abs(v), Math.Abs(v) >= 100 ? 2 : 4),
    };

    /// <summary>An instant as <c>2026-11-23 10:00 UTC</c>.</summary>
    public static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
