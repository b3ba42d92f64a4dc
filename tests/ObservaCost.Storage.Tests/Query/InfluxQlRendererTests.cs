using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Tests.Query;

public sealed class InfluxQlRendererTests
{
    [Fact]
    public void Render_AggregatesWindowsAndFilters()
    {
        TimeSeriesQuery q = TimeSeriesQueryBuilder.From("gpu_sample")
            .Mean("power_watts", "avg_w").Percentile("power_watts", 95, "p95").Integral("power_watts", TimeSpan.FromSeconds(1), "joules")
            .Between(1_000_000_000, 4_600_000_000_000)
            .GroupByTime(TimeSpan.FromMinutes(1), FillMode.Null)
            .GroupBy("pool", "uuid")
            .WhereTagIn("pool", "a", "b")
            .WhereTagNot("pod", "")
            .Build();

        Assert.Equal(
            "SELECT mean(\"power_watts\") AS \"avg_w\", percentile(\"power_watts\", 95) AS \"p95\", integral(\"power_watts\", 1000000000ns) AS \"joules\" " +
            "FROM \"gpu_sample\" WHERE time >= 1000000000 AND time < 4600000000000 AND (\"pool\" = 'a' OR \"pool\" = 'b') AND (\"pod\" != '') " +
            "GROUP BY time(60000ms), \"pool\", \"uuid\" fill(null)",
            InfluxQlRenderer.Render(q));
    }

    [Theory]
    [InlineData("a' OR 1=1 --", @"'a\' OR 1=1 --'")]
    [InlineData("\"x\";DROP", "'\"x\";DROP'")]
    [InlineData(@"back\slash", @"'back\\slash'")]
    [InlineData("new\nline", @"'new\nline'")]
    public void Render_TagValues_AreQuotedLiterals(string value, string literal)
    {
        TimeSeriesQuery q = TimeSeriesQueryBuilder.From("m").Max("v").Between(0, 10).WhereTag("t", value).Build();
        Assert.Contains($"(\"t\" = {literal})", InfluxQlRenderer.Render(q), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_Identifiers_AreQuoted()
    {
        TimeSeriesQuery q = TimeSeriesQueryBuilder.From("we\"ird").Field("f\"x", "a\\b").Between(0, 10).GroupBy("t\"g").Build();
        Assert.Equal("SELECT \"f\\\"x\" AS \"a\\\\b\" FROM \"we\\\"ird\" WHERE time >= 0 AND time < 10 GROUP BY \"t\\\"g\"", InfluxQlRenderer.Render(q));
    }

    [Fact]
    public void Builder_RejectsIncompleteOrMixedQueries()
    {
        Assert.Throws<InvalidOperationException>(() => TimeSeriesQueryBuilder.From("m").Max("v").Build());
        Assert.Throws<InvalidOperationException>(() => TimeSeriesQueryBuilder.From("m").Between(0, 1).Build());
        Assert.Throws<InvalidOperationException>(() => TimeSeriesQueryBuilder.From("m").Field("a").Max("b").Between(0, 1).Build());
        Assert.Throws<InvalidOperationException>(() => TimeSeriesQueryBuilder.From("m").Field("a").Between(0, 1).GroupByTime(TimeSpan.FromSeconds(1)).Build());
        Assert.Throws<ArgumentException>(() => TimeSeriesQueryBuilder.From("m").Between(5, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeriesQueryBuilder.From("m").Percentile("v", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeSeriesQueryBuilder.From("m").GroupByTime(TimeSpan.FromTicks(5)));
    }
}
