using System.Globalization;
using System.Text;
using System.Text.Json;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>
/// The influxd 1.x range-delete loss that <see cref="InfluxDbStore.DeleteAsync"/> works around, reproduced on demand on
/// the installed influxd (1.6.7, inmem index, as tests/Shared/InfluxDbServer.cs configures it).
/// <para>
/// What makes it happen (found by experiment; the mechanism is the one of influxdata/influxdb#10503/#10502 and #10504):
/// a <c>DELETE … WHERE time &gt;= … AND time &lt; …</c> on a measurement, run while influxd is writing a cache snapshot of
/// the shard to a TSM file (<c>Cache snapshot (start)</c> … <c>(end)</c> in its log, which begins once the cache has been
/// cold for <c>cache-snapshot-write-cold-duration</c>, 10 s here, or is over <c>cache-snapshot-memory-size</c>). While
/// the snapshot is in flight a series whose points are all in it is neither in a TSM file nor in the live cache, so the
/// delete's reconciliation finds no data for it and drops it from the index. The range does not matter: an empty range
/// far from every point drops them the same (so does a range holding points). Its points stay on disk: SELECT and SHOW
/// SERIES no longer see them, and a restart, which rebuilds the inmem index from the TSM files, brings them back.
/// No shard boundary, tag filter or TSM compaction is needed; a delete between snapshots (series in the cache only, or
/// in TSM files only) loses nothing. In the project it showed as ended placements missing from gpu_trace reads
/// (1,215 cost rows instead of 1,689 at 1,000 GPUs): the minute-by-minute rollup deleted a still-empty minute before
/// each write, hundreds of times an hour, and some of those deletes met a snapshot.
/// </para>
/// </summary>
public sealed class InfluxDbRangeDeleteTests
{
    private const string Database = "deletes";
    private const int Series = 1_000;
    private const int PointsPerSeries = 300;
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    // A range one day after the last point (the points span 300 s from Start): it holds no point.
    private static readonly DateTimeOffset EmptyFrom = Start.AddDays(1);
    private static readonly DateTimeOffset EmptyTo = EmptyFrom.AddMinutes(1);

    // A range over the middle third of the points: seconds 100–199.
    private static readonly DateTimeOffset InRangeFrom = Start.AddSeconds(100);
    private static readonly DateTimeOffset InRangeTo = Start.AddSeconds(200);

    [Fact]
    public Task RawDelete_EmptyRangeDuringCacheSnapshot_SeriesWithPointsOnlyOutsideVanishUntilRestart() => InfluxDbSnapshots.RetryWhenMissedAsync(async () =>
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        await WriteAsync(InfluxDbFixture.CreateStore(Options(server)), server);

        await WhileSnapshottingAsync(server, () => server.QueryAsync(
            string.Create(CultureInfo.InvariantCulture, $"DELETE FROM tr WHERE time >= {Nanoseconds(EmptyFrom)} AND time < {Nanoseconds(EmptyTo)}"), Database));

        // Every series had all its points in the snapshot being written: all are gone from reads, none was in the range.
        Assert.Equal((0, 0), await CountAsync(server));

        // The points were on disk all along: a restart rebuilds the index from the TSM files.
        await server.StopAsync();
        await server.RestartAsync();
        Assert.Equal((Series, Series * PointsPerSeries), await CountAsync(server));
    });

    [Fact]
    public Task StoreDelete_EmptyRangeDuringCacheSnapshot_KeepsEverySeries() => InfluxDbSnapshots.RetryWhenMissedAsync(async () =>
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        InfluxDbStore store = InfluxDbFixture.CreateStore(Options(server));
        await WriteAsync(store, server);

        // The store counts the range first (SELECT count(*)), finds nothing and sends no DELETE.
        await WhileSnapshottingAsync(server, () => store.DeleteAsync("tr", EmptyFrom, EmptyTo, new Dictionary<string, string>(StringComparer.Ordinal)));

        Assert.Equal((Series, Series * PointsPerSeries), await CountAsync(server));
    });

    [Fact]
    public Task StoreDelete_RangeHoldingPointsDuringCacheSnapshot_KeepsSeriesWithPointsOutsideAndRemovesExactlyTheRange() => InfluxDbSnapshots.RetryWhenMissedAsync(async () =>
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        var log = new CapturedWarnings<InfluxDbStore>();
        using var http = new HttpClient(new FirstDeleteDuringSnapshotHandler(server));
        var store = new InfluxDbStore(http, Options(server), TimeProvider.System, log);
        await WriteAsync(store, server);

        // 100 more series, h0…h99, with points only in the range [100 s, 200 s): one a second, 100 each.
        var text = new StringBuilder();
        for (int second = 100; second < 200; second++)
        {
            for (int h = 0; h < 100; h++)
            {
                text.Append(CultureInfo.InvariantCulture, $"tr,uuid=h{h} v={second}.25 {Nanoseconds(Start.AddSeconds(second))}\n");
            }
        }

        await store.WriteAsync(BatchExtensions.Lines(text.ToString(), 100 * 100));

        // Before: 1,000 + 100 = 1,100 series; 300,000 + 100 × 100 = 310,000 points.
        Assert.Equal((Series + 100, (Series * PointsPerSeries) + 10_000), await CountAsync(server));

        // The store's first DELETE is held back until influxd is writing its cache snapshot (every point is in it).
        await store.DeleteAsync("tr", InRangeFrom, InRangeTo, new Dictionary<string, string>(StringComparer.Ordinal));

        // After: g0…g999 keep seconds 0–99 and 200–299, 200 points each = 200,000; h0…h99 are gone (all their points
        // were in the range). Exactly the in-range points are removed: 100 × 1,000 + 100 × 100 = 110,000.
        Assert.Equal((Series, Series * 200L), await CountAsync(server));
        Assert.Equal(0, await CountInRangeAsync(server));

        // The delete did meet the snapshot: influxd dropped all 1,000 series with points outside the range, and the
        // store wrote back one point of each (one warning). On a loaded machine the delete can reach influxd as the
        // snapshot finishes, so that it drops nothing (the counts above hold either way): that moment was missed, not
        // the behaviour under test, and the scenario runs again on a fresh server.
        if (log.Warnings.IsEmpty)
        {
            throw new InvalidOperationException(InfluxDbSnapshots.MissedMessage + ": influxd dropped no series on this delete");
        }

        string warning = Assert.Single(log.Warnings);
        Assert.StartsWith("InfluxDB dropped 1000 series of tr from its index on a range delete", warning, StringComparison.Ordinal);

        // Nothing comes back with a restart either: the in-range points left in the snapshot's TSM file were deleted
        // once the written-back series brought them back into view.
        await server.StopAsync();
        await server.RestartAsync();
        Assert.Equal((Series, Series * 200L), await CountAsync(server));
        Assert.Equal(0, await CountInRangeAsync(server));
    });

    [Fact]
    public async Task StoreDelete_TagValuesWithSpacesCommasAndEquals_DeletesTheRangeWithOneDeleteAndNoWriteBack()
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        var log = new CapturedWarnings<InfluxDbStore>();
        using var http = new HttpClient();
        var store = new InfluxDbStore(http, Options(server), TimeProvider.System, log);

        // Two series of "odd m" whose keys influxd escapes (SHOW SERIES lists `odd\ m,k\ 1=a\,b\=c\ d` and
        // `odd\ m,k\ 1=e`), one point a second for 300 s: seconds 100–199 are in the range.
        var text = new StringBuilder();
        for (int second = 0; second < PointsPerSeries; second++)
        {
            text.Append(CultureInfo.InvariantCulture, $"odd\\ m,k\\ 1=a\\,b\\=c\\ d v={second}i {Nanoseconds(Start.AddSeconds(second))}\n");
            text.Append(CultureInfo.InvariantCulture, $"odd\\ m,k\\ 1=e v={second}i {Nanoseconds(Start.AddSeconds(second))}\n");
        }

        await store.WriteAsync(BatchExtensions.Lines(text.ToString(), 2 * PointsPerSeries));
        await store.DeleteAsync("odd m", InRangeFrom, InRangeTo, new Dictionary<string, string>(StringComparer.Ordinal) { ["k 1"] = "a,b=c d" });

        // The store found both series listed after its DELETE (no write-back, no warning, no second DELETE that would
        // end in an error after 5): "a,b=c d" keeps 300 − 100 = 200 points, "e" all 300.
        Assert.Empty(log.Warnings);
        using JsonDocument counts = JsonDocument.Parse(await server.QueryAsync("SELECT count(v) FROM \"odd m\" GROUP BY *", Database));
        JsonElement series = counts.RootElement.GetProperty("results")[0].GetProperty("series");
        Assert.Equal(
            ["a,b=c d:200", "e:300"],
            series.EnumerateArray().Select(s => s.GetProperty("tags").GetProperty("k 1").GetString() + ":" + s.GetProperty("values")[0][1].GetInt64()).Order(StringComparer.Ordinal));
    }

    private static async Task<long> CountInRangeAsync(InfluxDbServer server)
    {
        using JsonDocument points = JsonDocument.Parse(await server.QueryAsync(
            string.Create(CultureInfo.InvariantCulture, $"SELECT count(v) FROM tr WHERE time >= {Nanoseconds(InRangeFrom)} AND time < {Nanoseconds(InRangeTo)}"), Database));
        return Values(points).Select(row => row[1].GetInt64()).SingleOrDefault();
    }

    private static InfluxDbOptions Options(InfluxDbServer server) => new()
    {
        Url = server.Url,
        Database = Database,
        RetryInitialDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromSeconds(1),
        RetryMaxElapsed = TimeSpan.FromSeconds(5),
    };

    private static long Nanoseconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds() * 1_000_000;

    /// <summary>
    /// Series g0…g999, one point a second each for 300 s from <see cref="Start"/> (all before the deleted range), written
    /// in batches of 10,000 and checked: 1,000 series, 1,000 × 300 = 300,000 points.
    /// </summary>
    private static async Task WriteAsync(InfluxDbStore store, InfluxDbServer server)
    {
        var text = new StringBuilder();
        int inBatch = 0;
        for (int second = 0; second < PointsPerSeries; second++)
        {
            for (int gpu = 0; gpu < Series; gpu++)
            {
                text.Append(CultureInfo.InvariantCulture, $"tr,uuid=g{gpu} v={second}.5 {Nanoseconds(Start.AddSeconds(second))}\n");
                if (++inBatch == 10_000)
                {
                    await store.WriteAsync(BatchExtensions.Lines(text.ToString(), inBatch));
                    text.Clear();
                    inBatch = 0;
                }
            }
        }

        Assert.Equal((Series, Series * PointsPerSeries), await CountAsync(server));
    }

    /// <summary>
    /// Waits for influxd to start its next cache snapshot (the cache goes cold 10 s after the last write), then runs
    /// <paramref name="delete"/> at once, while the snapshot (about 0.2 s for these 300,000 points) is being written.
    /// </summary>
    private static async Task WhileSnapshottingAsync(InfluxDbServer server, Func<Task> delete)
    {
        await InfluxDbSnapshots.UntilSnapshotStartsAsync(server);
        await delete();
    }

    /// <summary>(series, points) of tr as influxd answers: series counted by SHOW SERIES, points by SELECT count(v).</summary>
    private static async Task<(int Series, long Points)> CountAsync(InfluxDbServer server)
    {
        using JsonDocument series = JsonDocument.Parse(await server.QueryAsync("SHOW SERIES FROM tr", Database));
        using JsonDocument points = JsonDocument.Parse(await server.QueryAsync("SELECT count(v) FROM tr", Database));
        return (Values(series).Count(), Values(points).Select(row => row[1].GetInt64()).SingleOrDefault());
    }

    private static IEnumerable<JsonElement> Values(JsonDocument answer) =>
        answer.RootElement.GetProperty("results")[0].TryGetProperty("series", out JsonElement series)
            ? series[0].GetProperty("values").EnumerateArray().ToList()
            : [];
}
