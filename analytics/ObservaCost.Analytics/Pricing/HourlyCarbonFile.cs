using System.Globalization;

namespace ObservaCost.Analytics.Pricing;

/// <summary>
/// Reads an hourly carbon intensity CSV: a header row, then one row per hour, the time in UTC (ISO 8601, with or
/// without <c>Z</c>; an explicit offset is converted to UTC) and the intensity in gCO2e/kWh. The columns are found by
/// name: <c>datetime</c> or an Electricity Maps export's <c>Datetime (UTC)</c>, and <c>gco2e_per_kwh</c> or
/// <c>Carbon Intensity gCO₂eq/kWh (LCA)</c> (or the column the pricing file names). Every hour must start on a whole
/// UTC hour and appear once. Problems are returned with their line number, all of them (up to a limit).
/// </summary>
public static class HourlyCarbonFile
{
    /// <summary>The most rows read: over 22 years of hours, so a wrong file (e.g. per-second data) fails instead of filling memory.</summary>
    public const int MaxRows = 200_000;

    private const int MaxErrors = 20;

    private static readonly string[] TimeColumns = ["datetime", "Datetime (UTC)"];

    private static readonly string[] ValueColumns = ["gco2e_per_kwh", "Carbon Intensity gCO₂eq/kWh (LCA)", "Carbon intensity gCO₂eq/kWh (Life cycle)"];

    /// <summary>Reads the file; <paramref name="errors"/> holds each problem ("line 5: …"), empty when it is valid.</summary>
    public static IReadOnlyDictionary<DateTimeOffset, double> Read(string path, string? column, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(path);
        var found = new List<string>();
        errors = found;
        var hours = new Dictionary<DateTimeOffset, double>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            found.Add($"cannot be read: {ex.Message}");
            return hours;
        }

        if (lines.Length == 0)
        {
            found.Add("is empty: expected a header row such as 'datetime,gco2e_per_kwh'");
            return hours;
        }

        string[] header = Split(lines[0].TrimStart('\uFEFF'));
        int timeIndex = IndexOf(header, TimeColumns);
        int valueIndex = IndexOf(header, column is null ? ValueColumns : [column]);
        if (timeIndex < 0 || valueIndex < 0)
        {
            found.Add(timeIndex < 0
                ? $"line 1: no time column (expected one of {string.Join(", ", TimeColumns.Select(c => "'" + c + "'"))})"
                : $"line 1: no intensity column (expected {string.Join(" or ", (column is null ? ValueColumns : [column]).Select(c => "'" + c + "'"))})");
            return hours;
        }

        if (lines.Length - 1 > MaxRows)
        {
            found.Add(string.Create(CultureInfo.InvariantCulture, $"has {lines.Length - 1} rows, more than the {MaxRows} allowed (hourly values only)"));
            return hours;
        }

        for (int i = 1; i < lines.Length && found.Count < MaxErrors; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            string lineNumber = (i + 1).ToString(CultureInfo.InvariantCulture);
            string[] cells = Split(lines[i]);
            if (cells.Length <= Math.Max(timeIndex, valueIndex))
            {
                found.Add($"line {lineNumber}: expected {header.Length} columns");
                continue;
            }

            if (!DateTimeOffset.TryParse(cells[timeIndex], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time))
            {
                found.Add($"line {lineNumber}: '{cells[timeIndex]}' is not a date and time");
                continue;
            }

            if (time.UtcTicks % TimeSpan.TicksPerHour != 0)
            {
                found.Add($"line {lineNumber}: {time:o} is not a whole UTC hour");
                continue;
            }

            if (!double.TryParse(cells[valueIndex], NumberStyles.Float, CultureInfo.InvariantCulture, out double grams) || !double.IsFinite(grams) || grams < 0)
            {
                found.Add($"line {lineNumber}: '{cells[valueIndex]}' is not an intensity in gCO2e/kWh (a number, not negative)");
                continue;
            }

            if (!hours.TryAdd(time.ToUniversalTime(), grams))
            {
                found.Add($"line {lineNumber}: the hour {time:o} appears twice");
            }
        }

        if (found.Count == 0 && hours.Count == 0)
        {
            found.Add("has no rows");
        }

        return hours;
    }

    private static int IndexOf(string[] header, IReadOnlyList<string> names)
    {
        foreach (string name in names)
        {
            int index = Array.FindIndex(header, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>A CSV row's cells, trimmed, surrounding double quotes removed (the exports carry no commas inside cells).</summary>
    private static string[] Split(string line) => [.. line.Split(',').Select(c => c.Trim().Trim('"').Trim())];
}
