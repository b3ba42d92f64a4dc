using System.Text.Json.Nodes;

namespace ObservaCost.Dashboards.Tests.Queries;

/// <summary>The substitution the query tests rely on, against strings worked out by hand.</summary>
public sealed class GrafanaInterpolationTests
{
    private static readonly TimeRange Hour = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 23, 11, 0, 0, TimeSpan.Zero));

    private static readonly Dictionary<string, string> AllValues = new(StringComparer.Ordinal) { ["model"] = ".*" };

    [Fact]
    public void Interpolate_TimeFilterAndInterval_AsGrafanaSendsThem()
    {
        // 2026-11-23T10:00Z = 1,795,428,000 s since the epoch; 11:00 is 3,600 s later.
        string query = Interpolate("SELECT mean(\"v\") FROM \"m\" WHERE $timeFilter GROUP BY time($__interval) -- $__interval_ms", 3_600_000);
        Assert.Equal("SELECT mean(\"v\") FROM \"m\" WHERE time >= 1795428000000ms and time <= 1795431600000ms GROUP BY time(1h) -- 3600000", query);
    }

    [Fact]
    public void Interpolate_UnderscoreTimeFilter_SameAsTimeFilter() =>
        Assert.Equal("time >= 1795428000000ms and time <= 1795431600000ms", Interpolate("$__timeFilter", 60_000));

    [Fact]
    public void Interpolate_OneValue_RegexEscaped()
    {
        // "." and "/" are regex characters: a model named llama-3.1-70b must not match llama-3x1-70b.
        Assert.Equal("\"model\" =~ /^llama-3\\.1-70b$/", Interpolate("\"model\" =~ /^$model$/", 60_000, VariableChoice.Of("llama-3.1-70b")));
        Assert.Equal("/^a\\/b\\(c\\)$/", Interpolate("/^$model$/", 60_000, VariableChoice.Of("a/b(c)")));
    }

    [Fact]
    public void Interpolate_SeveralValues_AlternationInParentheses() =>
        Assert.Equal("/^(acme|globex\\.eu)$/", Interpolate("/^$model$/", 60_000, VariableChoice.Of("acme", "globex.eu")));

    [Fact]
    public void Interpolate_All_CustomAllValueUnescaped() =>
        Assert.Equal("/^.*$/", Interpolate("/^${model}$/", 60_000, VariableChoice.AllValues));

    [Fact]
    public void Interpolate_UnknownVariable_Throws() =>
        Assert.Throws<InvalidOperationException>(() => Interpolate("/^$gpu$/", 60_000));

    [Theory]
    [InlineData(90_000L, 120_000L)] // 25 h over 1,000 points = 90 s: rounds to 2 m
    [InlineData(89_999L, 60_000L)]
    [InlineData(3_600L, 5_000L)] // 1 h over 1,000 points
    [InlineData(1_209_600L, 1_200_000L)] // 14 d over 1,000 points = 20.16 min: 20 m
    public void RoundInterval_RawInterval_GrafanasNiceInterval(long raw, long nice) =>
        Assert.Equal(nice, GrafanaInterpolation.RoundInterval(raw));

    [Fact]
    public void IntervalMs_PanelMinInterval_WinsOverASmallerComputedOne()
    {
        // 1 h / 1,000 points = 3.6 s, rounded to 5 s; the panel's min interval of 1 h wins.
        Assert.Equal(3_600_000, GrafanaInterpolation.IntervalMs(Hour, new JsonObject { ["interval"] = "1h" }));
        Assert.Equal(5_000, GrafanaInterpolation.IntervalMs(Hour, new JsonObject()));
    }

    [Theory]
    [InlineData(120_000L, "2m")]
    [InlineData(3_600_000L, "1h")]
    [InlineData(86_400_000L, "1d")]
    [InlineData(500L, "500ms")]
    public void IntervalText_Milliseconds_GrafanasText(long ms, string text) =>
        Assert.Equal(text, GrafanaInterpolation.IntervalText(ms));

    [Fact]
    public void ResolveTime_RelativeTimes_AgainstNow()
    {
        DateTimeOffset now = Hour.To;
        Assert.Equal(now.AddHours(-24), GrafanaInterpolation.ResolveTime("now-24h", now));
        Assert.Equal(now.AddDays(7), GrafanaInterpolation.ResolveTime("now+7d", now));
        Assert.Equal(now, GrafanaInterpolation.ResolveTime("now", now));
    }

    private static string Interpolate(string query, long intervalMs, VariableChoice? model = null) =>
        GrafanaInterpolation.Interpolate(
            query,
            Hour,
            intervalMs,
            model is null ? new Dictionary<string, VariableChoice>(StringComparer.Ordinal) : new Dictionary<string, VariableChoice>(StringComparer.Ordinal) { ["model"] = model },
            AllValues);

    [Theory]
    [InlineData("2026-11-30T13:37:00Z", "2026-11-25T15:00:00Z")] // a Monday: back to last Wednesday
    [InlineData("2026-11-25T15:00:00Z", "2026-11-25T15:00:00Z")] // Wednesday 15:00 itself
    [InlineData("2026-11-25T14:59:00Z", "2026-11-18T15:00:00Z")] // Wednesday before 15:00: the week before
    [InlineData("2026-11-26T00:10:00Z", "2026-11-25T15:00:00Z")] // Thursday just after midnight
    public void LatestWednesdayAfternoon_AnyNow_TheLatestOneNotInTheFuture(string now, string anchor) =>
        Assert.Equal(DateTimeOffset.Parse(anchor, System.Globalization.CultureInfo.InvariantCulture), DemoFleetOnInfluxDb.LatestWednesdayAfternoon(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture)));
}
