using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Query;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>Tests that need an influxd of their own, with authentication. (A store killed and restarted under load: the collector's FaultTests, through the spool and forwarder.)</summary>
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
}
