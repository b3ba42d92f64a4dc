using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Tests.Conformance;

/// <summary>
/// One suite, run against every backend: the same points, the same typed queries, the same answers, each worked out
/// by hand in the comments. Times are seconds after <see cref="T0Seconds"/>, which starts a minute.
/// </summary>
public abstract class StoreConformanceTests : IAsyncLifetime
{
    protected const long T0Seconds = 1_700_000_040;
    private const long S = 1_000_000_000;

    private ITimeSeriesStore? _store;

    protected ITimeSeriesStore Store => _store ?? throw new InvalidOperationException("not initialised");

    protected static long T(long seconds) => (T0Seconds + seconds) * S;

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        // g1, g2 in pool a; g3 in pool b; g4 has no pool tag.
        string lines = $"""
            conf,pool=a,uuid=g1 w=100,n=1i {T(0)}
            conf,pool=a,uuid=g1 w=200 {T(30)}
            conf,pool=a,uuid=g1 w=100,n=3i {T(60)}
            conf,pool=a,uuid=g1 w=300 {T(90)}
            conf,pool=a,uuid=g2 w=50,n=5i {T(0)}
            conf,pool=a,uuid=g2 w=50 {T(60)}
            conf,pool=b,uuid=g3 w=10 {T(15)}
            conf,pool=b,uuid=g3 w=20 {T(45)}
            conf,pool=b,uuid=g3 w=30 {T(75)}
            conf,uuid=g4 w=1,s="hello, \"world\"",ok=true {T(0)}

            """;
        WriteResult result = await Store.WriteAsync(new LineProtocolBatch(System.Text.Encoding.UTF8.GetBytes(lines), 10, WritePrecision.Nanoseconds));
        Assert.Equal(10, result.PointsWritten);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected abstract Task<ITimeSeriesStore> CreateStoreAsync();

    private static TimeSeriesQueryBuilder Conf() => TimeSeriesQueryBuilder.From("conf");

    private static double[] Column(ResultSeries s, int column = 0) => s.Rows.Select(r => r[column].Number).ToArray();

    [Fact]
    public async Task Delete_RemovesOnlyMatchingTagsInTheRange()
    {
        // Pool a in [0 s, 60 s): g1@0, g1@30, g2@0 go; g1@60, g1@90, g2@60 and pool b stay.
        await Store.DeleteAsync("conf", DateTimeOffset.FromUnixTimeSeconds(T0Seconds), DateTimeOffset.FromUnixTimeSeconds(T0Seconds + 60), new Dictionary<string, string> { ["pool"] = "a" });
        QueryResult r = await Store.QueryAsync(Conf().Count("w").Between(T(0), T(120)).GroupBy("pool").Build());
        Assert.Equal(["pool=", "pool=a", "pool=b"], r.Series.Select(s => s.TagKey));
        Assert.Equal([1.0, 3.0, 3.0], r.Series.Select(s => s.Rows[0][0].Number));
        QueryResult a = await Store.QueryAsync(Conf().Sum("w").Between(T(0), T(120)).GroupBy("pool").WhereTag("pool", "a").Build());
        Assert.Equal(450.0, a.Series[0].Rows[0][0].Number);
    }

    [Fact]
    public async Task Mean_ByPoolPerMinute()
    {
        QueryResult r = await Store.QueryAsync(Conf().Mean("w").Between(T(0), T(120)).GroupByTime(TimeSpan.FromMinutes(1)).GroupBy("pool").Build());
        Assert.Equal(["pool=", "pool=a", "pool=b"], r.Series.Select(s => s.TagKey));
        Assert.Equal([1.0], Column(r.Series[0]));
        // a, first minute: 100, 200 (g1), 50 (g2) → 350 / 3; second: 100, 300, 50 → 150.
        Assert.Equal([350.0 / 3, 150.0], Column(r.Series[1]));
        Assert.Equal([15.0, 30.0], Column(r.Series[2]));
        Assert.Equal([T(0), T(60)], r.Series[1].Rows.Select(x => x.TimeNanoseconds));
    }

    [Fact]
    public async Task SumCountMaxMin_ByPoolOverTheRange_TimeIsTheRangeStart()
    {
        QueryResult r = await Store.QueryAsync(Conf().Sum("w").Count("w").Max("w").Min("w").Between(T(0), T(120)).GroupBy("pool").Build());
        ResultSeries a = r.Find(("pool", "a"))!;
        Assert.Equal([800.0, 6, 300, 50], a.Rows[0].Values.Select(v => v.Number));
        Assert.Equal(ResultValueKind.Integer, a.Rows[0][1].Kind);
        Assert.Equal(T(0), a.Rows[0].TimeNanoseconds);
        Assert.Equal([60.0, 3, 30, 10], r.Find(("pool", "b"))!.Rows[0].Values.Select(v => v.Number));
        Assert.Equal([1.0, 1, 1, 1], r.Find(("pool", ""))!.Rows[0].Values.Select(v => v.Number));
    }

    [Fact]
    public async Task Sum_OfIntegers_StaysInteger()
    {
        QueryResult r = await Store.QueryAsync(Conf().Sum("n").Between(T(0), T(120)).Build());
        Assert.Equal(ResultValueKind.Integer, r.Series[0].Rows[0][0].Kind);
        Assert.Equal(9, r.Series[0].Rows[0][0].Integer);
    }

    [Fact]
    public async Task Last_ByGpuPerMinute()
    {
        QueryResult r = await Store.QueryAsync(Conf().Last("w").Between(T(0), T(120)).GroupByTime(TimeSpan.FromMinutes(1)).GroupBy("uuid").Build());
        Assert.Equal([200.0, 300.0], Column(r.Find(("uuid", "g1"))!));
        Assert.Equal([20.0, 30.0], Column(r.Find(("uuid", "g3"))!));
    }

    [Fact]
    public async Task Percentile_IsNearestRank()
    {
        QueryResult r = await Store.QueryAsync(Conf().Percentile("w", 50, "p50").Percentile("w", 95, "p95").Between(T(0), T(120)).GroupBy("pool").Build());
        // a: [50, 50, 100, 100, 200, 300]; p50 → index floor(6·0.5 + 0.5) − 1 = 2; p95 → floor(6.2) − 1 = 5.
        Assert.Equal([100.0, 300.0], r.Find(("pool", "a"))!.Rows[0].Values.Select(v => v.Number));
        // b: [10, 20, 30]; p50 → floor(2) − 1 = 1; p95 → floor(3.35) − 1 = 2.
        Assert.Equal([20.0, 30.0], r.Find(("pool", "b"))!.Rows[0].Values.Select(v => v.Number));
    }

    [Fact]
    public async Task Integral_OverTheRange_IsTheTrapezoidArea()
    {
        QueryResult r = await Store.QueryAsync(Conf().Integral("w", TimeSpan.FromSeconds(1), "j").Between(T(0), T(120)).WhereTag("uuid", "g1").Build());
        // (100+200)/2·30 + (200+100)/2·30 + (100+300)/2·30 = 4500 + 4500 + 6000.
        Assert.Equal(15_000, r.Series[0].Rows[0][0].Number, 9);

        QueryResult hours = await Store.QueryAsync(Conf().Integral("w", TimeSpan.FromHours(1), "wh").Between(T(0), T(120)).WhereTag("uuid", "g1").Build());
        Assert.Equal(15_000.0 / 3600, hours.Series[0].Rows[0][0].Number, 9);
    }

    [Fact]
    public async Task Integral_PerMinute_SplitsPairsAtTheBoundary()
    {
        QueryResult r = await Store.QueryAsync(Conf().Integral("w", TimeSpan.FromSeconds(1), "j").Between(T(0), T(120))
            .GroupByTime(TimeSpan.FromMinutes(1)).GroupBy("uuid").WhereTagIn("uuid", "g1", "g3").Build());
        // g1: 4500 + 4500 before 60 s (the pair 30→60 ends on the boundary), 6000 after.
        Assert.Equal([9000.0, 6000.0], Column(r.Find(("uuid", "g1"))!));
        // g3: 15→45: 450; 45→60 up to the interpolated 25 W: 337.5; 60→75 from 25 to 30 W: 412.5.
        double[] g3 = Column(r.Find(("uuid", "g3"))!);
        Assert.Equal(787.5, g3[0], 9);
        Assert.Equal(412.5, g3[1], 9);
    }

    [Fact]
    public async Task TagFilters_EmptyMeansMissing_NotInAndIn()
    {
        async Task<double> Sum(TimeSeriesQueryBuilder b) => (await Store.QueryAsync(b.Sum("w").Between(T(0), T(120)).Build())).Series[0].Rows[0][0].Number;
        Assert.Equal(1, await Sum(Conf().WhereTag("pool", "")));
        Assert.Equal(61, await Sum(Conf().WhereTagNot("pool", "a")));
        Assert.Equal(760, await Sum(Conf().WhereTagIn("uuid", "g1", "g3")));
        Assert.Equal(800, await Sum(Conf().WhereTagNot("pool", "").WhereTagNot("pool", "b")));
        Assert.Equal(801, await Sum(Conf().WhereTagIn("pool", "a", "")));
        QueryResult none = await Store.QueryAsync(Conf().Sum("w").Between(T(0), T(120)).WhereTag("pool", "zzz").Build());
        Assert.Empty(none.Series);
    }

    [Fact]
    public async Task Fill_NullAndZero_EmitEveryWindow_CountFillsZero()
    {
        QueryResult r = await Store.QueryAsync(Conf().Count("w", "n").Mean("w", "m").Between(T(0), T(180))
            .GroupByTime(TimeSpan.FromMinutes(1), FillMode.Null).GroupBy("pool").WhereTag("pool", "b").Build());
        ResultSeries b = Assert.Single(r.Series);
        Assert.Equal([T(0), T(60), T(120)], b.Rows.Select(x => x.TimeNanoseconds));
        Assert.Equal([2.0, 1, 0], Column(b, 0));
        Assert.True(b.Rows[2][1].IsNull);

        QueryResult zero = await Store.QueryAsync(Conf().Mean("w", "m").Between(T(0), T(180))
            .GroupByTime(TimeSpan.FromMinutes(1), FillMode.Zero).WhereTag("pool", "b").Build());
        Assert.Equal([15.0, 30, 0], Column(zero.Series[0]));
    }

    [Fact]
    public async Task Range_StartIsInclusive_EndExclusive()
    {
        QueryResult r = await Store.QueryAsync(Conf().Count("w").Between(T(30), T(60)).WhereTag("pool", "a").Build());
        Assert.Equal(1, r.Series[0].Rows[0][0].Integer);
    }

    [Fact]
    public async Task Raw_ReturnsPointsInTimeOrder_WithNullsForMissingFields()
    {
        QueryResult r = await Store.QueryAsync(Conf().Field("w").Field("n").Between(T(0), T(120)).WhereTag("uuid", "g1").Build());
        ResultSeries g1 = Assert.Single(r.Series);
        Assert.Equal([100.0, 200, 100, 300], Column(g1, 0));
        Assert.Equal([1L, 0, 3, 0], g1.Rows.Select(x => x[1].IsNull ? 0 : x[1].Integer));
        Assert.True(g1.Rows[1][1].IsNull);
    }

    [Fact]
    public async Task Raw_StringsAndBooleans_ComeBackTyped()
    {
        QueryResult r = await Store.QueryAsync(Conf().Field("s").Field("ok").Between(T(0), T(120)).WhereTag("uuid", "g4").Build());
        ResultRow row = Assert.Single(Assert.Single(r.Series).Rows);
        Assert.Equal("hello, \"world\"", row[0].Text);
        Assert.Equal(ResultValueKind.Boolean, row[1].Kind);
        Assert.Equal(1, row[1].Integer);
    }

    [Fact]
    public async Task Write_SameSeriesAndTime_Overwrites()
    {
        await Store.WriteAsync(new LineProtocolBatch(System.Text.Encoding.UTF8.GetBytes($"conf,uuid=g1,pool=a w=999 {T(90)}\n"), 1, WritePrecision.Nanoseconds));
        QueryResult r = await Store.QueryAsync(Conf().Count("w").Max("w").Between(T(0), T(120)).WhereTag("uuid", "g1").Build());
        Assert.Equal(4, r.Series[0].Rows[0][0].Integer);
        Assert.Equal(999, r.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task Write_FieldTypeConflict_RejectsOnlyThatPoint()
    {
        WriteResult result = await Store.WriteAsync(new LineProtocolBatch(System.Text.Encoding.UTF8.GetBytes(
            $"conf,uuid=g9 w=1i {T(5)}\nconf,uuid=g9 w=2 {T(6)}\n"), 2, WritePrecision.Nanoseconds));
        Assert.Equal(1, result.PointsWritten);
        Assert.Equal(1, result.PointsRejected);
        Assert.Contains("field type conflict", string.Join(" ", result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_DuplicateTagKey_RejectsOnlyThatPointWithTheReason()
    {
        // Line 1 names the tag uuid twice: both stores refuse it ("duplicate tags", InfluxDB's words); line 2 is
        // written. Then g7 has one value, 7, and no series holds the refused point's w=1.
        WriteResult result = await Store.WriteAsync(new LineProtocolBatch(System.Text.Encoding.UTF8.GetBytes(
            $"conf,uuid=g8,uuid=g9 w=1 {T(5)}\nconf,uuid=g7 w=7 {T(5)}\n"), 2, WritePrecision.Nanoseconds));
        Assert.Equal(1, result.PointsWritten);
        Assert.Equal(1, result.PointsRejected);
        Assert.Contains("duplicate tags", string.Join(" ", result.Errors), StringComparison.Ordinal);
        QueryResult r = await Store.QueryAsync(Conf().Count("w").Max("w").Between(T(5), T(6)).GroupBy("uuid").Build());
        ResultSeries g7 = Assert.Single(r.Series);
        Assert.Equal("uuid=g7", g7.TagKey);
        Assert.Equal(1, g7.Rows[0][0].Integer);
        Assert.Equal(7, g7.Rows[0][1].Number);
    }
}
