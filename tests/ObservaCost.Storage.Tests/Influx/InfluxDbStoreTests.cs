using System.Text.Json;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

[Collection(InfluxDbCollection.Name)]
public sealed class InfluxDbStoreTests(InfluxDbFixture fixture)
{
    private static readonly string[] Nasty =
    [
        "plain", "with space", "com,ma", "equ=als", "back\\slash", "quo\"te", "ünïcødé 日本", "a' OR 1=1 --", "\"x\";DROP", "= , =",
    ];

    [Fact]
    public async Task Write_EveryEscapingRule_RoundTripsThroughInfluxDb()
    {
        InfluxDbOptions options = fixture.Options();
        InfluxDbStore store = InfluxDbFixture.CreateStore(options);
        using var writer = new LineProtocolWriter();
        for (int i = 0; i < Nasty.Length; i++)
        {
            Assert.True(writer.Begin("esc").Tag("t", Nasty[i]).Field("s", Nasty[i] + "\n\"\\").Field("i", (long)i).End(i), writer.LastRejection);
            Assert.True(writer.Begin("m " + Nasty[i]).Tag("k " + Nasty[i], "v").Field("f " + Nasty[i], (double)i).End(i), writer.LastRejection);
        }

        WriteResult result = await store.WriteAsync(writer.ToBatch());
        Assert.Equal(0, result.PointsRejected);

        QueryResult byTag = await store.QueryAsync(TimeSeriesQueryBuilder.From("esc").Field("s").Field("i").Between(0, 1_000).GroupBy("t").Build());
        Assert.Equal(Nasty.Length, byTag.Series.Count);
        foreach (ResultSeries series in byTag.Series)
        {
            string tag = series.Tags["t"];
            Assert.Contains(tag, Nasty);
            ResultRow row = Assert.Single(series.Rows);
            Assert.Equal(tag + "\n\"\\", row[0].Text);
            Assert.Equal(Array.IndexOf(Nasty, tag), row[1].Integer);
        }

        // Tag values are visible to InfluxDB exactly as written (checked without our reader).
        string raw = await fixture.Server.QueryAsync("SHOW TAG VALUES FROM \"esc\" WITH KEY = \"t\"", options.Database);
        using JsonDocument doc = JsonDocument.Parse(raw);
        string[] values = doc.RootElement.GetProperty("results")[0].GetProperty("series")[0].GetProperty("values")
            .EnumerateArray().Select(v => v[1].GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Nasty.Order(StringComparer.Ordinal), values);

        for (int i = 0; i < Nasty.Length; i++)
        {
            QueryResult m = await store.QueryAsync(TimeSeriesQueryBuilder.From("m " + Nasty[i]).Max("f " + Nasty[i], "max").Between(0, 1_000).GroupBy("k " + Nasty[i]).Build());
            ResultSeries s = Assert.Single(m.Series);
            Assert.Equal("v", s.Tags["k " + Nasty[i]]);
            Assert.Equal(i, s.Rows[0][0].Number);
        }
    }

    [Fact]
    public async Task Query_TagValuesThatLookLikeInjection_MatchLiterally()
    {
        InfluxDbStore store = InfluxDbFixture.CreateStore(fixture.Options());
        using var writer = new LineProtocolWriter();
        writer.Begin("inj").Tag("t", "a' OR 1=1 --").Field("v", 1.0).End(1);
        writer.Begin("inj").Tag("t", "a").Field("v", 10.0).End(1);
        writer.Begin("inj").Tag("t", "\"x\";DROP").Field("v", 100.0).End(1);
        writer.Begin("inj").Tag("t", "b").Field("v", 1000.0).End(1);
        await store.WriteAsync(writer.ToBatch());

        async Task<double?> SumFor(params string[] values)
        {
            QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("inj").Sum("v", "s").Between(0, 10).WhereTagIn("t", values).Build());
            return r.Series.Count == 0 ? null : r.Series[0].Rows[0][0].AsDouble();
        }

        Assert.Equal(1.0, await SumFor("a' OR 1=1 --"));
        Assert.Equal(100.0, await SumFor("\"x\";DROP"));
        Assert.Null(await SumFor("' OR ''='"));
        Assert.Equal(11.0, await SumFor("a", "a' OR 1=1 --"));
        QueryResult none = await store.QueryAsync(TimeSeriesQueryBuilder.From("inj").Sum("v", "s").Between(0, 10).WhereTagNot("t", "a", "b").Build());
        Assert.Equal(101.0, none.Series[0].Rows[0][0].Number);
    }

    [Fact]
    public async Task Write_HundredThousandGpuSamples_InFiveThousandPointBatches_AreAllReadBack()
    {
        const int Gpus = 100;
        const int Steps = 1_000;
        InfluxDbOptions options = fixture.Options();
        InfluxDbStore store = InfluxDbFixture.CreateStore(options);
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        double expectedSum = 0;
        var samples = new List<GpuSample>(Gpus * Steps);
        for (int step = 0; step < Steps; step++)
        {
            for (int gpu = 0; gpu < Gpus; gpu++)
            {
                double watts = 100 + gpu + (step % 7);
                expectedSum += watts;
                samples.Add(new GpuSample
                {
                    Time = start.AddSeconds(step * 10),
                    Cluster = "c1",
                    Node = "node-" + (gpu / 8),
                    GpuIndex = gpu % 8,
                    GpuUuid = "GPU-" + gpu,
                    GpuModel = "NVIDIA H100 80GB HBM3",
                    Pool = gpu < 50 ? "a" : "b",
                    PowerWatts = watts,
                    UtilizationPercent = step % 100,
                    MemoryUsedBytes = 1L << 33,
                });
            }
        }

        WriteResult written = await PointBatches.WriteAllAsync(store, samples, options.Precision, batchPoints: 5_000);
        Assert.Equal(Gpus * Steps, written.PointsWritten);
        Assert.Equal(0, written.PointsRejected);

        QueryResult totals = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Count(Fields.PowerWatts, "n").Sum(Fields.PowerWatts, "sum").Between(start, start.AddDays(1)).Build());
        Assert.Equal(Gpus * Steps, totals.Series[0].Rows[0][0].Integer);
        Assert.Equal(expectedSum, totals.Series[0].Rows[0][1].Number, 6);

        QueryResult raw = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Field(Fields.PowerWatts).Field(Fields.MemoryUsedBytes).Between(start, start.AddDays(1)).WhereTag(Tags.GpuUuid, "GPU-7").Build());
        ResultSeries one = Assert.Single(raw.Series);
        Assert.Equal(Steps, one.Rows.Count);
        Assert.Equal(107 + (999 % 7), one.Rows[^1][0].Number);
        Assert.Equal(1L << 33, one.Rows[0][1].Integer);

        // Read all 100k raw points back through chunked responses.
        QueryResult all = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Field(Fields.PowerWatts).Between(start, start.AddDays(1)).GroupBy(Tags.GpuUuid).Build());
        Assert.Equal(Gpus, all.Series.Count);
        Assert.Equal(Gpus * Steps, all.Series.Sum(s => s.Rows.Count));
    }

    [Fact]
    public async Task Write_BadPoints_AreAnsweredWithInfluxDbsMessage_AndCounted()
    {
        InfluxDbStore store = InfluxDbFixture.CreateStore(fixture.Options());
        await store.WriteAsync(BatchExtensions.Lines("bad v=1i 1\n", 1));

        string lines = "bad v=2i 2\n" +          // good
                       "bad v=2.5 3\n" +         // field type conflict: float into an integer field
                       "bad,t=x v=\"s\" 4\n" +   // conflict: string
                       "bad v=3i 5\n";           // good
        WriteResult conflicts = await store.WriteAsync(BatchExtensions.Lines(lines, 4));
        Assert.Equal(2, conflicts.PointsRejected);
        Assert.Equal(2, conflicts.PointsWritten);
        Assert.Contains("field type conflict: input field \"v\" on measurement \"bad\"", Assert.Single(conflicts.Errors), StringComparison.Ordinal);

        // Unparsable lines are named one by one. (InfluxDB 1.6 leaves them out of its message when the same batch also
        // has a type conflict, which is why the collector parses pushed lines itself before they reach the store.)
        WriteResult unparsable = await store.WriteAsync(BatchExtensions.Lines("bad v=6i 6\nbad,t= v=1i 7\nbad v 8\nbad v=9i 9\n", 4));
        Assert.Equal(2, unparsable.PointsRejected);
        Assert.Equal(2, unparsable.PointsWritten);
        Assert.Contains("unable to parse 'bad,t= v=1i 7'", string.Join("\n", unparsable.Errors), StringComparison.Ordinal);

        QueryResult count = await store.QueryAsync(TimeSeriesQueryBuilder.From("bad").Count("v", "n").Between(0, 100).Build());
        Assert.Equal(5, count.Series[0].Rows[0][0].Integer);
    }

    [Fact]
    public async Task Write_Twice_IsIdempotent()
    {
        InfluxDbStore store = InfluxDbFixture.CreateStore(fixture.Options());
        using var writer = new LineProtocolWriter();
        for (int i = 0; i < 100; i++)
        {
            writer.Begin("idem").Tag("g", (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture)).Field("v", (double)i).End(i * 1_000_000_000L);
        }

        await store.WriteAsync(writer.ToBatch());
        await store.WriteAsync(writer.ToBatch());
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("idem").Count("v", "n").Sum("v", "s").Between(0, 1_000_000_000_000).Build());
        Assert.Equal(100, r.Series[0].Rows[0][0].Integer);
        Assert.Equal(4950, r.Series[0].Rows[0][1].Number);
    }

    [Fact]
    public async Task Ping_AnswersTrue_AndAnUnreachableServerAnswersFalse()
    {
        Assert.True(await InfluxDbFixture.CreateStore(fixture.Options()).PingAsync());
        InfluxDbOptions dead = fixture.Options();
        dead.Url = new Uri($"http://127.0.0.1:{ObservaCost.Testing.InfluxDbServer.FreePort()}/");
        Assert.False(await InfluxDbFixture.CreateStore(dead).PingAsync());
    }

    [Fact]
    public async Task Query_BadQuery_ThrowsWithTheServersMessage()
    {
        InfluxDbStore store = InfluxDbFixture.CreateStore(fixture.Options());
        await store.WriteAsync(BatchExtensions.Lines("str s=\"x\" 1\n", 1));
        StoreRequestException ex = await Assert.ThrowsAsync<StoreRequestException>(() =>
            store.QueryAsync(TimeSeriesQueryBuilder.From("str").Mean("s").Between(0, 10).Build()));
        Assert.Contains("mean", ex.Message, StringComparison.Ordinal);
    }
}
