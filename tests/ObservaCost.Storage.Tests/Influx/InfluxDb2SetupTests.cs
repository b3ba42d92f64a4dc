using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Tests.Support;

namespace ObservaCost.Storage.Tests.Influx;

/// <summary>
/// The InfluxDB 2.x start-up checks (InfluxDB.Client 5.1.0: ping, organization, bucket, DBRP mapping). No InfluxDB 2.x
/// server is installed here, so <see cref="InfluxDb2Front"/> without an influxd answers as InfluxDB 2.x's published
/// OpenAPI describes (influxdata/openapi: GET /api/v2/orgs {"orgs":[...]}; GET /api/v2/buckets {"buckets":[...]};
/// POST /api/v2/buckets 201 Bucket; GET /api/v2/dbrps {"content":[...]}; POST /api/v2/dbrps 201 DBRP).
/// </summary>
public sealed class InfluxDb2SetupTests
{
    private static InfluxDbStore Store(Uri url, bool create) => new(
        new HttpClient(),
        new InfluxDbOptions
        {
            Url = url,
            ApiVersion = InfluxApiVersion.V2,
            Org = "acme",
            Bucket = "gpu",
            Token = "tok",
            Database = "observacost",
            CreateDatabase = create,
            BucketRetention = TimeSpan.FromDays(7),
            Gzip = false,
        },
        TimeProvider.System,
        NullLogger<InfluxDbStore>.Instance);

    private static readonly LineProtocolBatch OnePoint = new("m v=1 1\n"u8.ToArray(), 1, WritePrecision.Nanoseconds);

    [Fact]
    public async Task FirstWrite_EmptyServer_CreatesBucketWithRetentionAndTheDbrpMapping_ThenWrites()
    {
        await using LoopbackHttpServer server = InfluxDb2Front.Start(null, "tok");
        InfluxDbStore store = Store(server.Url, create: true);
        Assert.Equal(1, (await store.WriteAsync(OnePoint)).PointsWritten);
        Assert.Equal(1, (await store.WriteAsync(OnePoint)).PointsWritten);

        // The checks run once, before the first write: ping, org, bucket (missing: created), mapping (missing: created).
        string[] calls = server.Requests.Select(r => r.Method + " " + r.PathAndQuery.Split('?')[0]).ToArray();
        Assert.Equal(
            ["GET /ping", "GET /api/v2/orgs", "GET /api/v2/buckets", "POST /api/v2/buckets", "GET /api/v2/dbrps", "POST /api/v2/dbrps", "POST /api/v2/write", "POST /api/v2/write"],
            calls);
        Assert.All(server.Requests.Skip(1), r => Assert.Equal("Token tok", r.Authorization));

        // 7 days = 604800 s, owned by the organization's id.
        using JsonDocument bucket = JsonDocument.Parse(server.Requests[3].Body);
        Assert.Equal("gpu", bucket.RootElement.GetProperty("name").GetString());
        Assert.Equal(InfluxDb2Front.OrgId, bucket.RootElement.GetProperty("orgID").GetString());
        JsonElement rule = bucket.RootElement.GetProperty("retentionRules")[0];
        Assert.Equal("expire", rule.GetProperty("type").GetString());
        Assert.Equal(604800, rule.GetProperty("everySeconds").GetInt64());

        // The mapping InfluxQL reads use: database "observacost", retention policy "autogen" (none configured), default.
        Assert.Contains("bucketID=" + InfluxDb2Front.BucketId(0), server.Requests[4].PathAndQuery, StringComparison.Ordinal);
        using JsonDocument dbrp = JsonDocument.Parse(server.Requests[5].Body);
        Assert.Equal(InfluxDb2Front.BucketId(0), dbrp.RootElement.GetProperty("bucketID").GetString());
        Assert.Equal("observacost", dbrp.RootElement.GetProperty("database").GetString());
        Assert.Equal("autogen", dbrp.RootElement.GetProperty("retention_policy").GetString());
        Assert.True(dbrp.RootElement.GetProperty("default").GetBoolean());
    }

    [Fact]
    public async Task FirstWrite_BucketAndMappingExist_CreatesNothing()
    {
        await using LoopbackHttpServer server = InfluxDb2Front.Start(null, "tok", existingBucket: "gpu", existingMapping: "observacost");
        Assert.Equal(1, (await Store(server.Url, create: true).WriteAsync(OnePoint)).PointsWritten);
        Assert.DoesNotContain(server.Requests, r => r.Method == "POST" && !r.PathAndQuery.StartsWith("/api/v2/write", StringComparison.Ordinal));
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task FirstWrite_BucketMissingAndCreationOff_RefusesNamingTheKeys_AndWritesNothing()
    {
        await using LoopbackHttpServer server = InfluxDb2Front.Start(null, "tok");
        StoreRequestException ex = await Assert.ThrowsAsync<StoreRequestException>(() => Store(server.Url, create: false).WriteAsync(OnePoint));
        Assert.Contains("no bucket 'gpu' (Storage:InfluxDb:Bucket)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:InfluxDb:CreateDatabase is false", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Method == "POST");
    }
}
