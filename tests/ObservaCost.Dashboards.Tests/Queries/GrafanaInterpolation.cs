using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ObservaCost.Dashboards.Tests.Model;

namespace ObservaCost.Dashboards.Tests.Queries;

/// <summary>What the viewer chose for one template variable: some values, or All.</summary>
public sealed record VariableChoice(bool All, IReadOnlyList<string> Values)
{
    public static VariableChoice AllValues { get; } = new(true, []);

    public static VariableChoice Of(params string[] values) => new(false, values);
}

/// <summary>A dashboard's time range resolved against a fixed "now".</summary>
public sealed record TimeRange(DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// Turns a dashboard query into the InfluxQL Grafana sends, the way Grafana's InfluxDB data source does for a raw
/// query: template variables first (multi-value and include-All variables are regex-escaped, one value bare, several
/// as <c>(a|b)</c>, All as the variable's allValue), then the time macros (<c>$timeFilter</c> and <c>$__timeFilter</c>
/// as <c>time &gt;= {from}ms and time &lt;= {to}ms</c>, <c>$__interval</c> and <c>$interval</c> as an interval
/// string, <c>$__interval_ms</c> as milliseconds). The interval is Grafana's: the range over the panel's max data
/// points, rounded to a "nice" interval, and never below the panel's min interval.
/// </summary>
public static partial class GrafanaInterpolation
{
    /// <summary>
    /// Grafana's max data points when a panel sets none is the panel's width in pixels; 1,000 stands for a wide panel
    /// on a laptop screen (the test cannot know the screen; the panels that need a fixed bucket set a min interval).
    /// </summary>
    public const int DefaultMaxDataPoints = 1000;

    /// <summary>Resolves <c>now</c>, <c>now-24h</c>, <c>now+7d</c> (units s, m, h, d, w) against <paramref name="now"/>.</summary>
    public static DateTimeOffset ResolveTime(string text, DateTimeOffset now)
    {
        if (text == "now")
        {
            return now;
        }

        Match match = RelativeTime().Match(text);
        if (!match.Success)
        {
            throw new FormatException("Not a relative time Grafana's picker writes: " + text);
        }

        int amount = int.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture) * (match.Groups["sign"].Value == "-" ? -1 : 1);
        return now + Duration(amount, match.Groups["unit"].Value);
    }

    /// <summary>The range a panel queries: the dashboard's, or the last <c>timeFrom</c> when the panel overrides it.</summary>
    public static TimeRange PanelRange(GrafanaDashboard dashboard, JsonObject? panel, DateTimeOffset now)
    {
        string? timeFrom = panel is null ? null : GrafanaDashboard.Text(panel, "timeFrom");
        if (timeFrom is not null)
        {
            return new TimeRange(ResolveTime("now-" + timeFrom, now), now);
        }

        JsonNode time = dashboard.Json["time"]!;
        return new TimeRange(ResolveTime(time["from"]!.GetValue<string>(), now), ResolveTime(time["to"]!.GetValue<string>(), now));
    }

    /// <summary>Grafana's interval for a panel over a range: rounded range / max data points, at least the panel's min interval.</summary>
    public static long IntervalMs(TimeRange range, JsonObject? panel)
    {
        int maxDataPoints = panel?["maxDataPoints"] is JsonValue points ? points.GetValue<int>() : DefaultMaxDataPoints;
        long interval = RoundInterval((long)(range.To - range.From).TotalMilliseconds / maxDataPoints);
        string? minimum = panel is null ? null : GrafanaDashboard.Text(panel, "interval");
        return minimum is null ? interval : Math.Max(interval, (long)ParseInterval(minimum).TotalMilliseconds);
    }

    /// <summary>The query with every variable and macro replaced.</summary>
    public static string Interpolate(string query, TimeRange range, long intervalMs, IReadOnlyDictionary<string, VariableChoice> choices, IReadOnlyDictionary<string, string> allValues)
    {
        string timeFilter = string.Create(CultureInfo.InvariantCulture, $"time >= {range.From.ToUnixTimeMilliseconds()}ms and time <= {range.To.ToUnixTimeMilliseconds()}ms");
        string interval = IntervalText(intervalMs);
        return DashboardChecks.VariableReference().Replace(query, match =>
        {
            string name = match.Groups["n"].Value;
            return name switch
            {
                "timeFilter" or "__timeFilter" => timeFilter,
                "__interval" or "interval" => interval,
                "__interval_ms" => intervalMs.ToString(CultureInfo.InvariantCulture),
                _ when choices.TryGetValue(name, out VariableChoice? choice) => Format(choice, allValues.GetValueOrDefault(name)),
                _ => throw new InvalidOperationException("No value chosen for $" + name + " in: " + query),
            };
        });
    }

    /// <summary>Grafana's regex escape of a variable value (grafana-data <c>escapeRegex</c>): <c>\ ^ $ * + ? . ( ) | [ ] { } /</c>.</summary>
    public static string EscapeRegex(string value) => RegexSpecial().Replace(value, @"\$0");

    /// <summary>Grafana's <c>roundInterval</c> (rangeutil): the "nice" interval for a raw one, in milliseconds.</summary>
    public static long RoundInterval(long ms) => ms switch
    {
        < 15 => 10,
        < 35 => 20,
        < 75 => 50,
        < 150 => 100,
        < 350 => 200,
        < 750 => 500,
        < 1_500 => 1_000,
        < 3_500 => 2_000,
        < 7_500 => 5_000,
        < 12_500 => 10_000,
        < 17_500 => 15_000,
        < 25_000 => 20_000,
        < 45_000 => 30_000,
        < 90_000 => 60_000,
        < 210_000 => 120_000,
        < 450_000 => 300_000,
        < 750_000 => 600_000,
        < 1_050_000 => 900_000,
        < 1_500_000 => 1_200_000,
        < 2_700_000 => 1_800_000,
        < 5_400_000 => 3_600_000,
        < 9_000_000 => 7_200_000,
        < 16_200_000 => 10_800_000,
        < 32_400_000 => 21_600_000,
        < 86_400_000 => 43_200_000,
        < 604_800_000 => 86_400_000,
        < 1_814_400_000 => 604_800_000,
        < 3_628_800_000 => 2_592_000_000,
        _ => 31_536_000_000,
    };

    /// <summary>Grafana's interval text (<c>secondsToHms</c>): the largest whole unit, e.g. <c>2m</c>, <c>1h</c>, <c>1d</c>, <c>500ms</c>.</summary>
    public static string IntervalText(long ms)
    {
        long seconds = ms / 1000;
        (long Size, string Unit)[] units = [(31_536_000, "y"), (604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
        foreach ((long size, string unit) in units)
        {
            if (seconds >= size)
            {
                return (seconds / size).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }

        return ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    private static string Format(VariableChoice choice, string? allValue)
    {
        if (choice.All && allValue is not null)
        {
            return allValue; // a custom all value is used as it is, unescaped
        }

        if (choice.Values.Count == 0)
        {
            throw new InvalidOperationException("A variable without All needs at least one value.");
        }

        var text = new StringBuilder();
        text.AppendJoin('|', choice.Values.Select(EscapeRegex));
        return choice.Values.Count == 1 ? text.ToString() : "(" + text + ")";
    }

    private static TimeSpan ParseInterval(string text)
    {
        Match match = RelativeTime().Match("now+" + text);
        return match.Success
            ? Duration(int.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture), match.Groups["unit"].Value)
            : throw new FormatException("Not an interval: " + text);
    }

    private static TimeSpan Duration(int amount, string unit) => unit switch
    {
        "s" => TimeSpan.FromSeconds(amount),
        "m" => TimeSpan.FromMinutes(amount),
        "h" => TimeSpan.FromHours(amount),
        "d" => TimeSpan.FromDays(amount),
        "w" => TimeSpan.FromDays(7 * amount),
        _ => throw new FormatException("Unknown time unit " + unit),
    };

    [GeneratedRegex(@"^now(?<sign>[+-])(?<n>\d+)(?<unit>[smhdw])$", RegexOptions.CultureInvariant)]
    private static partial Regex RelativeTime();

    [GeneratedRegex(@"[\\^$*+?.()|\[\]{}/]", RegexOptions.CultureInvariant)]
    private static partial Regex RegexSpecial();
}
