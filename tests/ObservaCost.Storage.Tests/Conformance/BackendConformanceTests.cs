using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.Tests.Influx;
using ObservaCost.Storage.Tests.Support;

namespace ObservaCost.Storage.Tests.Conformance;

public sealed class SqliteConformanceTests : StoreConformanceTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-sqlite-" + Guid.NewGuid().ToString("N")[..12]);
    private SqliteStore? _sqlite;

    protected override Task<ITimeSeriesStore> CreateStoreAsync()
    {
        _sqlite = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "store.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return Task.FromResult<ITimeSeriesStore>(_sqlite);
    }

    public override async Task DisposeAsync()
    {
        if (_sqlite is not null)
        {
            await _sqlite.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

[Collection(InfluxDbCollection.Name)]
public sealed class InfluxDbConformanceTests(InfluxDbFixture fixture) : StoreConformanceTests
{
    protected override Task<ITimeSeriesStore> CreateStoreAsync() =>
        Task.FromResult<ITimeSeriesStore>(InfluxDbFixture.CreateStore(fixture.Options()));
}

/// <summary>
/// The suite on the V2 code path (<c>ApiVersion=V2</c>: start-up checks through InfluxDB.Client, token auth,
/// <c>/api/v2/write</c>, InfluxQL on <c>/query</c> through the DBRP mapping), over a real influxd 1.6.7 behind
/// <see cref="InfluxDb2Front"/>, since influxd 1.6.7 has no v2 API and no InfluxDB 2.x is installed here.
/// </summary>
[Collection(InfluxDbCollection.Name)]
public sealed class InfluxDbV2ConformanceTests(InfluxDbFixture fixture) : StoreConformanceTests
{
    private LoopbackHttpServer? _front;

    protected override Task<ITimeSeriesStore> CreateStoreAsync()
    {
        InfluxDbOptions v1 = fixture.Options();
        _front = InfluxDb2Front.Start(fixture.Server.Url, "conformance-token");
        v1.Url = _front.Url;
        v1.ApiVersion = InfluxApiVersion.V2;
        v1.Org = "acme";
        v1.Bucket = v1.Database;
        v1.Token = "conformance-token";
        return Task.FromResult<ITimeSeriesStore>(InfluxDbFixture.CreateStore(v1));
    }

    public override async Task DisposeAsync()
    {
        if (_front is not null)
        {
            await _front.DisposeAsync();
        }
    }
}
