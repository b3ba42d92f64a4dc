using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Tests.Influx;

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
