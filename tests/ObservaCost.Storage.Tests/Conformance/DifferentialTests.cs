using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Tests.Influx;

namespace ObservaCost.Storage.Tests.Conformance;

/// <summary>
/// Writes one random fleet to InfluxDB and to the embedded store and asks both a matrix of queries: every answer
/// must agree (same series, same windows, values equal to 1e-9 relative).
/// </summary>
[Collection(InfluxDbCollection.Name)]
public sealed class DifferentialTests(InfluxDbFixture fixture) : IAsyncLifetime
{
    private const long S = 1_000_000_000;
    private static readonly long Start = 1_763_700_000 * S;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-diff-" + Guid.NewGuid().ToString("N")[..12]);
    private SqliteStore? _sqlite;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_sqlite is not null)
        {
            await _sqlite.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomFleet_EveryQueryAgrees(int seed)
    {
        var random = new Random(seed);
        using var writer = new LineProtocolWriter();
        int gpus = 12;
        for (int g = 0; g < gpus; g++)
        {
            long t = Start + random.Next(0, 30) * S;
            string pool = g % 3 == 0 ? "" : "pool-" + (g % 3);
            while (t < Start + 3600 * S)
            {
                writer.Begin("fleet")
                    .Tag("model", g % 4 == 0 ? null : "m" + (g % 4))
                    .Tag("pool", pool)
                    .Tag("uuid", "GPU-" + g.ToString(CultureInfo.InvariantCulture))
                    .Field("power_watts", Math.Round(60 + random.NextDouble() * 600, 3))
                    .Field("util", (long)random.Next(0, 101))
                    .End(t);
                // Irregular sampling with occasional gaps of several minutes.
                t += (random.Next(0, 20) == 0 ? random.Next(120, 600) : random.Next(5, 25)) * S + random.Next(0, 1000) * 1_000_000L;
            }
        }

        ITimeSeriesStore influx = InfluxDbFixture.CreateStore(fixture.Options());
        _sqlite = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, $"diff{seed}.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        LineProtocolBatch batch = new(writer.WrittenMemory, writer.PointCount, WritePrecision.Nanoseconds);
        Assert.Equal(writer.PointCount, (await influx.WriteAsync(batch)).PointsWritten);
        Assert.Equal(writer.PointCount, (await _sqlite.WriteAsync(batch)).PointsWritten);

        long from = Start + 7 * S;
        long to = Start + 3300 * S;
        var queries = new List<TimeSeriesQuery>();
        foreach (TimeSpan? window in new TimeSpan?[] { null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(17) })
        {
            foreach (string[] groupBy in new[] { Array.Empty<string>(), ["pool"], ["uuid"], ["model", "pool"] })
            {
                TimeSeriesQueryBuilder b = TimeSeriesQueryBuilder.From("fleet")
                    .Mean("power_watts", "mean").Max("power_watts", "max").Min("util", "min").Sum("util", "sum").Count("power_watts", "count")
                    .Percentile("power_watts", 90, "p90").Percentile("util", 50, "p50")
                    .Between(from, to).GroupBy(groupBy);
                if (window is { } w)
                {
                    b.GroupByTime(w, FillMode.Null);
                }

                queries.Add(b.Build());

                // last() and the integral are defined on one series per group: group by GPU.
                TimeSeriesQueryBuilder perGpu = TimeSeriesQueryBuilder.From("fleet")
                    .Last("power_watts", "last").Integral("power_watts", TimeSpan.FromSeconds(1), "joules")
                    .Between(from, to).GroupBy([.. groupBy, "uuid"]).WhereTagNot("pool", "pool-2");
                if (window is { } w2)
                {
                    perGpu.GroupByTime(w2);
                }

                queries.Add(perGpu.Build());
            }
        }

        queries.Add(TimeSeriesQueryBuilder.From("fleet").Field("power_watts").Field("util").Between(from, to).GroupBy("uuid").WhereTagIn("uuid", "GPU-1", "GPU-2").Build());
        queries.Add(TimeSeriesQueryBuilder.From("fleet").Mean("power_watts").Between(from, to).GroupBy("pool").WhereTag("model", "").Build());

        foreach (TimeSeriesQuery query in queries)
        {
            QueryResult expected = await influx.QueryAsync(query);
            QueryResult actual = await _sqlite.QueryAsync(query);
            AssertSame(query, expected, actual);
        }
    }

    private static void AssertSame(TimeSeriesQuery query, QueryResult expected, QueryResult actual)
    {
        string context = query.ToString();
        Assert.True(expected.Series.Count > 0, "no data for " + context);
        Assert.True(expected.Series.Count == actual.Series.Count,
            $"series differ for {context}: influx [{string.Join("; ", expected.Series.Select(s => s.TagKey))}] sqlite [{string.Join("; ", actual.Series.Select(s => s.TagKey))}]");
        for (int s = 0; s < expected.Series.Count; s++)
        {
            ResultSeries e = expected.Series[s];
            ResultSeries a = actual.Series[s];
            Assert.Equal(e.TagKey, a.TagKey);
            Assert.True(e.Rows.Count == a.Rows.Count, $"rows differ for {e.TagKey} in {context}: {e.Rows.Count} vs {a.Rows.Count}");
            for (int r = 0; r < e.Rows.Count; r++)
            {
                Assert.True(e.Rows[r].TimeNanoseconds == a.Rows[r].TimeNanoseconds, $"time differs at row {r} of {e.TagKey} in {context}");
                for (int c = 0; c < e.Columns.Count; c++)
                {
                    ResultValue ev = e.Rows[r][c];
                    ResultValue av = a.Rows[r][c];
                    string where = $"{e.Columns[c]} at {e.Rows[r].TimeNanoseconds} of {e.TagKey} in {context}: influx {ev}, sqlite {av}";
                    Assert.True(ev.IsNull == av.IsNull, where);
                    if (!ev.IsNull)
                    {
                        double tolerance = 1e-9 * Math.Max(1, Math.Abs(ev.Number));
                        Assert.True(Math.Abs(ev.Number - av.Number) <= tolerance, where);
                    }
                }
            }
        }
    }
}
