using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;
using ObservaCost.Storage.Writing;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>Tests that need an influxd of their own: with authentication, or one that is killed and restarted.</summary>
public sealed class InfluxDbAuthAndRestartTests
{
    private static InfluxDbOptions Options(InfluxDbServer server) => new()
    {
        Url = server.Url,
        Database = "own",
        RetryInitialDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromSeconds(1),
        RetryMaxElapsed = TimeSpan.FromSeconds(3),
    };

    [Fact]
    public async Task AuthEnabled_BasicCredentials_WriteAndQuery_AndBadCredentialsAreRefused()
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync(authEnabled: true);
        InfluxDbOptions good = Options(server);
        good.Username = InfluxDbServer.AdminUser;
        good.Password = InfluxDbServer.AdminPassword;
        InfluxDbStore store = InfluxDbFixture.CreateStore(good);
        WriteResult written = await store.WriteAsync(BatchExtensions.Lines("auth v=1 1\nauth v=2 2\n", 2));
        Assert.Equal(2, written.PointsWritten);
        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From("auth").Sum("v", "s").Between(0, 10).Build());
        Assert.Equal(3, r.Series[0].Rows[0][0].Number);

        InfluxDbOptions anonymous = Options(server);
        anonymous.CreateDatabase = false;
        StoreRequestException noCreds = await Assert.ThrowsAsync<StoreRequestException>(() =>
            InfluxDbFixture.CreateStore(anonymous).WriteAsync(BatchExtensions.Lines("auth v=3 3\n", 1)));
        Assert.Equal(401, noCreds.StatusCode);

        InfluxDbOptions wrong = Options(server);
        wrong.Username = InfluxDbServer.AdminUser;
        wrong.Password = "wrong";
        StoreRequestException badPassword = await Assert.ThrowsAsync<StoreRequestException>(() =>
            InfluxDbFixture.CreateStore(wrong).QueryAsync(TimeSeriesQueryBuilder.From("auth").Sum("v").Between(0, 10).Build()));
        Assert.Equal(401, badPassword.StatusCode);
        Assert.Contains("authorization failed", badPassword.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerKilledAndRestartedMidStream_NoPointLost_NoneDuplicated()
    {
        await using InfluxDbServer server = await InfluxDbServer.StartAsync();
        InfluxDbOptions options = Options(server);
        options.RetryMaxElapsed = TimeSpan.FromSeconds(1);
        InfluxDbStore store = InfluxDbFixture.CreateStore(options);
        var batching = new PointBatchingOptions
        {
            MaxBatchPoints = 500,
            MaxBatchAge = TimeSpan.FromMilliseconds(100),
            MaxPendingBatches = 4,
            RetryInitialDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        };
        var start = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
        const int Total = 40_000;
        await using var writer = new BatchingPointWriter(store, batching, options.Precision, TimeProvider.System, NullLogger.Instance);

        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < Total; i++)
            {
                await writer.WriteAsync(new GpuSample
                {
                    Time = start.AddMilliseconds(i * 100),
                    Node = "n" + (i % 4),
                    GpuIndex = i % 8,
                    GpuUuid = "GPU-" + (i % 8),
                    PowerWatts = i,
                });
                if (i % 500 == 0)
                {
                    await Task.Delay(50);
                }
            }
        });

        // Kill influxd once part of the stream is in, leave it down, then start it again on the same data.
        while (writer.Statistics.PointsWritten < 5_000)
        {
            await Task.Delay(20);
        }

        await server.StopAsync(hard: true);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(writer.Statistics.StoreFailures > 0, "the writer should have met the dead server");
        await server.RestartAsync();
        await producer;
        await writer.FlushAsync();

        WriterStatistics stats = writer.Statistics;
        Assert.Equal(Total, stats.PointsAccepted);
        Assert.Equal(0, stats.PointsDropped);
        Assert.Equal(0, stats.PointsRejectedByStore);

        QueryResult r = await store.QueryAsync(TimeSeriesQueryBuilder.From(Measurements.GpuSample)
            .Count(Fields.PowerWatts, "n").Sum(Fields.PowerWatts, "s").Between(start, start.AddDays(1)).Build());
        Assert.Equal(Total, r.Series[0].Rows[0][0].Integer);
        Assert.Equal((double)Total * (Total - 1) / 2, r.Series[0].Rows[0][1].Number);
    }
}
