using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage;
using ObservaCost.Storage.Embedded;
using ObservaCost.Storage.Influx;
using ObservaCost.Testing;

namespace ObservaCost.Analytics.Tests.Windows;

/// <summary>Which store a test runs on.</summary>
public enum StoreBackend
{
    /// <summary>The embedded SQLite store in a temporary folder.</summary>
    Embedded,

    /// <summary>A real influxd 1.x on loopback.</summary>
    InfluxDb,
}

/// <summary>A store of one backend for one test, and what it runs on, removed on dispose.</summary>
public sealed class TestStore : IAsyncDisposable
{
    private readonly SqliteStore? _sqlite;
    private readonly string? _dir;
    private readonly InfluxDbServer? _influx;
    private readonly HttpClient? _http;

    private TestStore(ITimeSeriesStore store, SqliteStore? sqlite, string? dir, InfluxDbServer? influx, HttpClient? http)
    {
        Store = store;
        _sqlite = sqlite;
        _dir = dir;
        _influx = influx;
        _http = http;
    }

    public ITimeSeriesStore Store { get; }

    public static async Task<TestStore> OpenAsync(StoreBackend backend)
    {
        if (backend == StoreBackend.InfluxDb)
        {
            InfluxDbServer influx = await InfluxDbServer.StartAsync();
            var http = new HttpClient();
            var store = new InfluxDbStore(http, new InfluxDbOptions { Url = influx.Url, Database = "observacost" }, TimeProvider.System, NullLogger<InfluxDbStore>.Instance);
            return new TestStore(store, null, null, influx, http);
        }

        string dir = Path.Combine(Path.GetTempPath(), "observacost-store-" + Guid.NewGuid().ToString("N")[..8]);
        var sqlite = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(dir, "s.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        return new TestStore(sqlite, sqlite, dir, null, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sqlite is not null)
        {
            await _sqlite.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_dir!, recursive: true);
        }

        _http?.Dispose();
        if (_influx is not null)
        {
            await _influx.DisposeAsync();
        }
    }
}
