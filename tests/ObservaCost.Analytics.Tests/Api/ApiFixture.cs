using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Analytics.Windows;
using ObservaCost.Storage.Embedded;

namespace ObservaCost.Analytics.Tests.Api;

/// <summary>
/// An embedded store in a temp folder, filled by <see cref="PopulateAsync"/>, and the API host over it (with
/// <see cref="Time"/> as its clock when set).
/// </summary>
public abstract class EmbeddedApiFixture : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "observacost-api-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteStore? _store;
    private ApiHost? _host;

    internal SqliteStore Store => _store!;

    internal ApiHost Host => _host!;

    /// <summary>The host's clock; null for the system clock.</summary>
    protected virtual TimeProvider? Time => null;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(_dir, "api.db"), Retention = TimeSpan.Zero }, TimeProvider.System, NullLogger<SqliteStore>.Instance);
        await PopulateAsync(_store);
        _host = await ApiHost.StartAsync(_store, time: Time);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    protected abstract Task PopulateAsync(SqliteStore store);
}

/// <summary>The fleet of <see cref="ApiFleet"/> in an embedded store in a temp folder, and the API host over it.</summary>
public sealed class ApiFixture : EmbeddedApiFixture
{
    /// <summary>What the window service computed and stored, hour by hour: the reference the API must agree with.</summary>
    internal IReadOnlyList<WindowCostReport> Reports { get; private set; } = [];

    /// <summary>The range query string for [from, to) with RFC 3339 times.</summary>
    internal static string Range(DateTimeOffset from, DateTimeOffset to) =>
        "from=" + from.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + "&to=" + to.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static string WholeRange => Range(ApiFleet.Start, ApiFleet.End);

    protected override async Task PopulateAsync(SqliteStore store) => Reports = await ApiFleet.PopulateAsync(store);
}
