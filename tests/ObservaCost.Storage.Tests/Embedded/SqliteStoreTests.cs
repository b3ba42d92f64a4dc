using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;

namespace ObservaCost.Storage.Tests.Embedded;

public sealed class SqliteStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-sqlite-" + Guid.NewGuid().ToString("N")[..12]);

    private string DbPath => Path.Combine(_dir, "nested", "store.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static LineProtocolBatch Lines(string text, int count) => new(System.Text.Encoding.UTF8.GetBytes(text), count, WritePrecision.Seconds);

    [Fact]
    public async Task Store_UsesWal_AndKeepsDataAcrossReopen()
    {
        await using (var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance))
        {
            Assert.Equal(2, (await store.WriteAsync(Lines("m,t=a v=1 100\nm,t=b v=2 100\n", 2))).PointsWritten);
        }

        await using var reopened = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        QueryResult r = await reopened.QueryAsync(TimeSeriesQueryBuilder.From("m").Sum("v").Between(0, 1_000_000_000_000).Build());
        Assert.Equal(3, r.Series[0].Rows[0][0].Number);
        // Field kinds survive too: an integer into the float field is still a conflict.
        Assert.Equal(1, (await reopened.WriteAsync(Lines("m,t=a v=1i 101\n", 1))).PointsRejected);

        await using var connection = new SqliteConnection($"Data Source={DbPath}");
        await connection.OpenAsync();
        await using SqliteCommand pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await pragma.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Retention_DeletesOnlyExpiredValues()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(10 * 86_400));
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath, Retention = TimeSpan.FromDays(2) }, clock, NullLogger<SqliteStore>.Instance);
        // Day 5 (expired at day 10 with 2 days' retention), day 9 (kept).
        await store.WriteAsync(Lines($"m v=1 {5 * 86_400}\nm v=2 {9 * 86_400}\n", 2));
        Assert.Equal(1, await store.EnforceRetentionAsync());
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("m").Field("v").Between(0, 20L * 86_400 * 1_000_000_000).Build());
        Assert.Equal([2.0], r.Series[0].Rows.Select(x => x[0].Number));
    }

    [Fact]
    public async Task Retention_RunsFromWritesOnceItIsDue()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(10 * 86_400));
        var options = new SqliteStoreOptions { Path = DbPath, Retention = TimeSpan.FromDays(1), RetentionCheckInterval = TimeSpan.FromMinutes(10) };
        await using var store = new SqliteStore(options, clock, NullLogger<SqliteStore>.Instance);
        await store.WriteAsync(Lines($"m v=1 {(10 * 86_400) - 3600}\n", 1));
        clock.Advance(TimeSpan.FromHours(2));
        await store.WriteAsync(Lines($"m v=2 {10 * 86_400}\n", 1));
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("m").Count("v").Between(0, 20L * 86_400 * 1_000_000_000).Build());
        Assert.Equal(2, r.Series[0].Rows[0][0].Integer);
        clock.Advance(TimeSpan.FromDays(1));
        await store.WriteAsync(Lines($"m v=3 {11 * 86_400}\n", 1));
        r = await store.QueryAsync(TimeSeriesQueryBuilder.From("m").Count("v").Between(0, 20L * 86_400 * 1_000_000_000).Build());
        Assert.Equal(1, r.Series[0].Rows[0][0].Integer);
    }

    [Fact]
    public async Task Write_BadLines_AreReportedWithLineNumbers_GoodOnesKept()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        WriteResult result = await store.WriteAsync(Lines("m v=1 1\nm v= 2\nm v=3 3\n", 3));
        Assert.Equal(2, result.PointsWritten);
        Assert.Equal(1, result.PointsRejected);
        Assert.Contains("line 2", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_ManyPointsInOneBatch_IsOneTransaction()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        using var writer = new LineProtocolWriter(WritePrecision.Seconds);
        for (int i = 0; i < 20_000; i++)
        {
            writer.Begin("gpu").Tag("uuid", "GPU-" + (i % 50)).Field("w", i * 0.5).End(i * 1_000_000_000L);
        }

        WriteResult result = await store.WriteAsync(new LineProtocolBatch(writer.WrittenMemory, writer.PointCount, WritePrecision.Seconds));
        Assert.Equal(20_000, result.PointsWritten);
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("gpu").Count("w").Between(0, 1_000_000L * 1_000_000_000).GroupBy("uuid").Build());
        Assert.Equal(50, r.Series.Count);
        Assert.All(r.Series, s => Assert.Equal(400, s.Rows[0][0].Integer));
    }

    [Fact]
    public async Task Query_WhileBatchesAreWritten_SeesEachBatchWholeInEveryColumn()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        await store.WriteAsync(Lines("w a=0,b=0 0\n", 1));
        Task writing = Task.Run(async () =>
        {
            for (int batch = 1; batch <= 150; batch++)
            {
                string text = string.Concat(Enumerable.Range(0, 50).Select(i => $"w a={i},b={i} {(batch * 100) + i}\n"));
                await store.WriteAsync(Lines(text, 50));
            }
        });

        TimeSeriesQuery counts = TimeSeriesQueryBuilder.From("w").Count("a").Count("b").Between(0, 1_000_000L * 1_000_000_000).Build();
        int checks = 0;
        while (!writing.IsCompleted || checks == 0)
        {
            QueryResult r = await store.QueryAsync(counts);
            Assert.Equal(r.Series[0].Rows[0][0].Integer, r.Series[0].Rows[0][1].Integer);
            Assert.Equal(1, r.Series[0].Rows[0][0].Integer % 50);
            checks++;
        }

        await writing;
        Assert.True(checks > 1);
    }

    [Fact]
    public async Task Write_PointRefusedByAConstraint_OnlyThatPointLeftOutAndItsNewFieldForgotten()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        Assert.Equal(1, (await store.WriteAsync(Lines("c ok=1 100\n", 1))).PointsWritten);

        // A rule this store enforces through SQLite (here a trigger raising a constraint error on the field "bad"),
        // standing for any constraint a point can break: the batch is written again point by point, so ok@101 and
        // ok@103 are kept and only bad@102 is refused, with SQLite's reason and the line.
        await using (var connection = new SqliteConnection($"Data Source={DbPath}"))
        {
            await connection.OpenAsync();
            await using SqliteCommand trigger = connection.CreateCommand();
            trigger.CommandText = "CREATE TRIGGER refuse_bad BEFORE INSERT ON field_value WHEN NEW.field = 'bad' BEGIN SELECT RAISE(ABORT, 'bad is refused'); END";
            await trigger.ExecuteNonQueryAsync();
        }

        WriteResult result = await store.WriteAsync(Lines("c ok=2 101\nc bad=1 102\nc ok=3 103\n", 3));
        Assert.Equal(2, result.PointsWritten);
        Assert.Equal(1, result.PointsRejected);
        string reason = Assert.Single(result.Errors);
        Assert.StartsWith("unable to write 'c bad=1 102': ", reason, StringComparison.Ordinal);
        Assert.Contains("bad is refused", reason, StringComparison.Ordinal);
        QueryResult ok = await store.QueryAsync(TimeSeriesQueryBuilder.From("c").Field("ok").Between(0, 1_000_000_000_000).Build());
        Assert.Equal([1.0, 2.0, 3.0], ok.Series[0].Rows.Select(x => x[0].Number));

        // The refused point's new field kind (float) was rolled back with it: once the rule is gone, bad takes an
        // integer without a type conflict.
        await using (var connection = new SqliteConnection($"Data Source={DbPath}"))
        {
            await connection.OpenAsync();
            await using SqliteCommand drop = connection.CreateCommand();
            drop.CommandText = "DROP TRIGGER refuse_bad";
            await drop.ExecuteNonQueryAsync();
        }

        Assert.Equal(1, (await store.WriteAsync(Lines("c bad=5i 104\n", 1))).PointsWritten);
    }

    [Fact]
    public async Task Write_DatabaseLockedByAnotherWriter_ThrowsStoreUnavailableAndWritesLater()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { Path = DbPath, BusyTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        Assert.Equal(1, (await store.WriteAsync(Lines("l v=1 100\n", 1))).PointsWritten);
        await using (var other = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await other.OpenAsync();
            await using SqliteTransaction held = other.BeginTransaction(deferred: false);
            await using SqliteCommand write = other.CreateCommand();
            write.Transaction = held;
            write.CommandText = "INSERT INTO field_type (measurement, field, kind) VALUES ('x', 'y', 0)";
            await write.ExecuteNonQueryAsync();

            // Busy is transient: the whole batch may be written again, nothing of it was kept.
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync(Lines("l v=2 101\n", 1)));
            await held.RollbackAsync();
        }

        Assert.Equal(1, (await store.WriteAsync(Lines("l v=2 101\n", 1))).PointsWritten);
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("l").Sum("v").Between(0, 1_000_000_000_000).Build());
        Assert.Equal(3, r.Series[0].Rows[0][0].Number);
    }
}
