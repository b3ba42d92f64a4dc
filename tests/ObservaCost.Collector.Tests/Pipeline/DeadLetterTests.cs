using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ObservaCost.Collector.Pipeline;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.Query;
using ObservaCost.Testing;

namespace ObservaCost.Collector.Tests.Pipeline;

/// <summary>
/// A poison record in the spool (as a spool written by an older version, or for a store with other rules, would hold
/// it) never stops the collector: the forwarder isolates it, moves it to the dead letters with the store's reason,
/// writes its neighbours, commits, and a restart does not replay it. On the embedded store and on a real influxd.
/// </summary>
public sealed class DeadLetterTests
{
    // A whole second an hour ago, in nanoseconds: inside any retention.
    private static readonly long T0 = TimeProvider.System.GetUtcNow().AddHours(-1).ToUnixTimeSeconds() * 1_000_000_000L;

    [Fact]
    public Task PoisonLineThenGoodPoint_EmbeddedStore_GoodStoredPoisonDeadLetteredAcrossRestart() =>
        PoisonLineThenGoodPointAsync([], "sqlite");

    [Fact]
    public async Task PoisonLineThenGoodPoint_InfluxDb_GoodStoredPoisonDeadLetteredAcrossRestart()
    {
        await using InfluxDbServer influx = await InfluxDbServer.StartAsync();
        await PoisonLineThenGoodPointAsync(
            ["--Storage:Backend", "InfluxDb", "--Storage:InfluxDb:Url", influx.Url.ToString(), "--Storage:InfluxDb:RetryMaxElapsed", "00:00:02"],
            "influxdb");
    }

    [Fact]
    public async Task TwoPoisonLinesInOneRecord_EmbeddedStore_FiveStoredTwoDeadLetteredInOrder()
    {
        using var folder = new TempFolder();
        // One spool record of seven lines. Line 3 repeats the tag k (refused: duplicate tags); line 6 gives v, a float
        // field since line 1, a string (refused: field type conflict). Halving isolates them: [1..3] → [1] ok,
        // [2..3] → [2] ok, [3] refused; [4..7] → [4..5] ok, [6..7] → [6] refused, [7] ok. Stored: k=1,2,4,5,7.
        string[] lines =
        [
            $"mix,k=1 v=1 {T0}",
            $"mix,k=2 v=2 {T0}",
            $"mix,k=3,k=33 v=3 {T0}",
            $"mix,k=4 v=4 {T0}",
            $"mix,k=5 v=5 {T0}",
            $"mix,k=6 v=\"six\" {T0}",
            $"mix,k=7 v=7 {T0}",
        ];
        await SpoolAsync(folder.Spool, string.Concat(lines.Select(l => l + "\n")), 7);

        await using CollectorHost host = await StartAsync(folder, []);
        CollectorTotals metrics = CollectorTotals.Of(host.Services);
        await WaitUntilAsync(() => metrics.DeadLetteredTotal == 2);
        QueryResult stored = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From("mix").Sum("v").Between(T0, T0 + 1).GroupBy("k").Build());
        Assert.Equal(["k=1", "k=2", "k=4", "k=5", "k=7"], stored.Series.Select(s => s.TagKey));
        Assert.Equal([1.0, 2.0, 4.0, 5.0, 7.0], stored.Series.Select(s => s.Rows[0][0].Number));

        DeadLetterLine[] letters = ReadDeadLetters(folder.Spool);
        Assert.Equal([lines[2], lines[5]], letters.Select(l => l.Line));
        Assert.Contains("duplicate tags", letters[0].Reason, StringComparison.Ordinal);
        Assert.Contains("field type conflict", letters[1].Reason, StringComparison.Ordinal);
        Assert.All(letters, l => Assert.Equal("sqlite", l.Backend));
        Assert.Equal(5, metrics.WrittenTotal);
        Assert.Equal(0, host.Services.GetRequiredService<DiskSpool>().PendingPoints);
    }

    [Fact]
    public async Task DeadLetterFileFull_EmbeddedStore_DroppedCountedAndSpoolStillCommitted()
    {
        using var folder = new TempFolder();
        // The dead-letter file already holds 64 KiB - 10 bytes: the refused point's letter (over 100 bytes) does not
        // fit, so it is dropped and counted as dropped; the good point is written and the spool moves on.
        Directory.CreateDirectory(Path.Combine(folder.Spool, DeadLetterFile.DirectoryName));
        string path = Path.Combine(folder.Spool, DeadLetterFile.DirectoryName, DeadLetterFile.FileName);
        await File.WriteAllTextAsync(path, new string('x', (64 * 1024) - 11) + "\n");
        await SpoolAsync(folder.Spool, $"full,t=a,t=b v=1 {T0}\nfull,t=c v=2 {T0}\n", 2);

        await using CollectorHost host = await StartAsync(folder, ["--Collector:Forwarder:DeadLetterMaxBytes", "65536"]);
        CollectorTotals metrics = CollectorTotals.Of(host.Services);
        await WaitUntilAsync(() => metrics.DeadLetterDroppedTotal == 1);
        Assert.Equal(0, metrics.DeadLetteredTotal);
        Assert.Equal((64 * 1024) - 10, new FileInfo(path).Length);
        string text = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("observacost_collector_points_deadletter_dropped_total 1\n", text, StringComparison.Ordinal);
        await WaitUntilAsync(() => host.Services.GetRequiredService<DiskSpool>().PendingPoints == 0);
        QueryResult stored = await host.Store.QueryAsync(TimeSeriesQueryBuilder.From("full").Sum("v").Between(T0, T0 + 1).GroupBy("t").Build());
        Assert.Equal(2.0, Assert.Single(stored.Series).Rows[0][0].Number);
    }

    private static async Task PoisonLineThenGoodPointAsync(string[] backend, string backendName)
    {
        using var folder = new TempFolder();
        string poison = $"poison,t=a,t=b f=1 {T0}";
        await SpoolAsync(folder.Spool, poison + "\n", 1);
        await SpoolAsync(folder.Spool, $"poison,t=c f=2 {T0}\n", 1);
        TimeSeriesQuery goodQuery = TimeSeriesQueryBuilder.From("poison").Count("f").Sum("f").Between(T0, T0 + 1).GroupBy("t").Build();

        await using (CollectorHost first = await StartAsync(folder, backend))
        {
            CollectorTotals metrics = CollectorTotals.Of(first.Services);
            await WaitUntilAsync(() => metrics.DeadLetteredTotal == 1);
            AssertOnlyGoodPoint(await first.Store.QueryAsync(goodQuery));
            DeadLetterLine letter = Assert.Single(ReadDeadLetters(folder.Spool));
            Assert.Equal(poison, letter.Line);
            Assert.Contains("duplicate tags", letter.Reason, StringComparison.Ordinal);
            Assert.Equal(backendName, letter.Backend);
            string text = await first.Client.GetStringAsync("/metrics");
            Assert.Contains("observacost_collector_points_deadlettered_total 1\n", text, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await first.Client.GetAsync("/readyz")).StatusCode);
            Assert.Equal(0, first.Services.GetRequiredService<DiskSpool>().PendingPoints);
        }

        // Restarted on the same spool: nothing is replayed, the collector is up and ready, the letter stays single.
        await using CollectorHost second = await StartAsync(folder, backend);
        Assert.Equal(HttpStatusCode.OK, (await second.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.Client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(0, second.Services.GetRequiredService<DiskSpool>().PendingPoints);
        Assert.Equal(0, CollectorTotals.Of(second.Services).DeadLetteredTotal);
        AssertOnlyGoodPoint(await second.Store.QueryAsync(goodQuery));
        Assert.Single(ReadDeadLetters(folder.Spool));
    }

    private static void AssertOnlyGoodPoint(QueryResult result)
    {
        // Only t=c holds a value (count 1, sum 2): nothing of the refused point was stored under t=a or t=b.
        ResultSeries series = Assert.Single(result.Series);
        Assert.Equal("t=c", series.TagKey);
        Assert.Equal(1, series.Rows[0][0].Integer);
        Assert.Equal(2.0, series.Rows[0][1].Number);
    }

    private static async Task SpoolAsync(string directory, string lines, int points)
    {
        using var spool = new DiskSpool(new SpoolOptions { Directory = directory, FlushToDisk = false });
        Assert.True(await spool.AppendAsync(Encoding.UTF8.GetBytes(lines), points));
    }

    private static Task<CollectorHost> StartAsync(TempFolder folder, string[] extra) =>
        CollectorHost.StartAsync(
        [
            "--Collector:Spool:Directory", folder.Spool,
            "--Storage:Embedded:Path", Path.Combine(folder.Path, "store.db"),
            .. extra,
        ]);

    private static DeadLetterLine[] ReadDeadLetters(string spoolDirectory) =>
        File.ReadAllLines(Path.Combine(spoolDirectory, DeadLetterFile.DirectoryName, DeadLetterFile.FileName))
            .Select(line =>
            {
                using var json = JsonDocument.Parse(line);
                JsonElement root = json.RootElement;
                Assert.True(DateTimeOffset.TryParse(root.GetProperty("time").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
                return new DeadLetterLine(root.GetProperty("backend").GetString()!, root.GetProperty("reason").GetString()!, root.GetProperty("line").GetString()!);
            })
            .ToArray();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the condition did not hold in time");
            await Task.Delay(20);
        }
    }

    private sealed record DeadLetterLine(string Backend, string Reason, string Line);

    private sealed class TempFolder : IDisposable
    {
        public TempFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "observacost-deadletter-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string Spool => System.IO.Path.Combine(Path, "spool");

        public void Dispose()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // Left for the temp folder's own clean-up.
            }
        }
    }
}
